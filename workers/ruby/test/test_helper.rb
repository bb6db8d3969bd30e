# frozen_string_literal: true

require "minitest/autorun"
require "open3"
require "rbconfig"
require "tasker_core"
require_relative "support/collector"

# These tests run against the INSTALLED gem, never the source tree.
loaded = $LOADED_FEATURES.find { |f| f.end_with?("/tasker_core.rb") }
gem_home = ENV.fetch("GEM_HOME", "")
unless !gem_home.empty? && loaded&.start_with?(gem_home)
  abort "tasker_core was loaded from #{loaded.inspect}, not the installed gem in GEM_HOME=#{gem_home.inspect}"
end

TEMPLATES = File.expand_path("../../rust/templates", __dir__)

# Squares its one dependency's result, or the task's even_number.
class Square < TaskerCore::StepHandler::Base
  def call(context)
    n = context.dependency_results.values.first || context.input["even_number"]
    success(result: n * n, metadata: { handler: "square" })
  end
end

# Sums every dependency's result.
class SumDependencies < TaskerCore::StepHandler::Base
  def call(context)
    success(result: context.dependency_results.values.sum)
  end
end

module TestSupport
  module_function

  # Runs Ruby code in a fresh process with the installed gem; returns [stdout, stderr, status].
  def ruby(code, env = {})
    Open3.capture3({ "NO_COLOR" => "1" }.merge(env), RbConfig.ruby, "-e", code)
  end

  def template(name, steps)
    { namespace: "ruby_test", name: name, version: "1.0.0", steps: steps }
  end
end
