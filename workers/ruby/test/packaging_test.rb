# frozen_string_literal: true

require_relative "test_helper"
require "fileutils"
require "rubygems/package"
require "tmpdir"

# The gems as a user installs them: the platform gem with no Rust toolchain anywhere on PATH,
# and what the source tree's gemspec does with a plain `gem build`.
class PackagingTest < Minitest::Test
  RUBY_DIR = File.expand_path("..", __dir__)
  TOOLS = %w[cargo rustc rustup clang].freeze

  # A fresh GEM_HOME, and PATH without any directory that holds a Rust or clang tool.
  def bare_env(gem_home)
    path = ENV.fetch("PATH").split(File::PATH_SEPARATOR).reject do |dir|
      TOOLS.any? { |t| File.executable?(File.join(dir, t)) }
    end
    { "GEM_HOME" => gem_home, "GEM_PATH" => gem_home, "PATH" => path.join(File::PATH_SEPARATOR),
      "CARGO" => nil, "CARGO_HOME" => nil, "RUSTUP_HOME" => nil, "CARGO_TARGET_DIR" => nil, "NO_COLOR" => "1" }
  end

  def assert_no_toolchain(env)
    TOOLS.each do |tool|
      _, _, status = Open3.capture3(env, "sh", "-c", "command -v #{tool}")
      refute status.success?, "#{tool} is still on PATH"
    end
  end

  def native_gem
    gem = ENV.fetch("TASKER_NATIVE_GEM", "")
    assert File.file?(gem), "TASKER_NATIVE_GEM=#{gem.inspect} is not a file: run these tests through `make test-ruby`"
    gem
  end

  RUN_A_TASK = <<~RUBY
    require "tasker_core"
    class Square < TaskerCore::StepHandler::Base
      def call(context)
        n = context.dependency_results.values.first || context.input["even_number"]
        success(result: n * n)
      end
    end
    TaskerCore.register_handler("square", Square)
    worker = TaskerCore.bootstrap_worker(concurrency: 2)
    result = worker.run_task(ARGV.fetch(0), context: { even_number: 2 })
    worker.stop
    puts JSON.generate(status: result.status, steps: result.step_results,
                       extension: $LOADED_FEATURES.grep(/tasker_core\\.so\\z/))
  RUBY

  def test_the_platform_gem_installs_and_runs_a_task_with_no_rust_toolchain_on_path
    gem = native_gem
    assert_match(/tasker-core-#{Regexp.escape(TaskerCore::VERSION)}-x86_64-linux\.gem\z/, gem)
    Dir.mktmpdir("tasker-native-gem") do |home|
      env = bare_env(home)
      assert_no_toolchain(env)
      out, err, status = Open3.capture3(env, "gem", "install", "--local", "--no-document", gem)
      assert status.success?, "gem install failed:\n#{out}#{err}"
      refute_match(/Building native extensions/, out + err)

      script = File.join(home, "run_a_task.rb")
      File.write(script, RUN_A_TASK)
      out, err, status = Open3.capture3(env, RbConfig.ruby, script, File.join(TEMPLATES, "linear_workflow.yaml"), chdir: home)
      assert status.success?, "the task did not run:\n#{out}#{err}"
      assert_includes err, "Console-only logging initialized (FFI-safe mode)"
      result = JSON.parse(out.lines.last)
      assert_equal "complete", result["status"]
      assert_equal({ "linear_step_1" => 4, "linear_step_2" => 16, "linear_step_3" => 256, "linear_step_4" => 65_536 },
                   result["steps"])
      assert_equal 1, result["extension"].size
      assert result["extension"].first.start_with?(File.join(home, "gems", "tasker-core-#{TaskerCore::VERSION}-x86_64-linux", "lib")),
             "the extension came from #{result["extension"].first}"
    end
  end

  def test_the_platform_gem_is_for_this_ruby_and_platform_and_carries_no_sources
    spec = Gem::Package.new(native_gem).spec
    assert_equal "x86_64-linux", spec.platform.to_s
    assert_equal [], spec.extensions
    assert_includes spec.files, "lib/tasker_core.so"
    assert_empty spec.files.grep(/\Aext\//)
    minor = RUBY_VERSION[/\A\d+\.\d+/]
    assert spec.required_ruby_version.satisfied_by?(Gem::Version.new(RUBY_VERSION))
    refute spec.required_ruby_version.satisfied_by?(Gem::Version.new("#{minor.split(".").first}.#{minor.split(".").last.to_i + 1}.0"))
  end

  def test_the_source_gem_without_cargo_says_it_needs_cargo
    gem = Dir[File.join(RUBY_DIR, "pkg", "tasker-core-*[0-9].gem")].first
    assert gem, "no source gem in #{RUBY_DIR}/pkg: run these tests through `make test-ruby`"
    Dir.mktmpdir("tasker-source-gem") do |home|
      env = bare_env(home)
      out, err, status = Open3.capture3(env, "gem", "install", "--local", "--no-document", gem)
      refute status.success?
      assert_includes out + err, "tasker-core needs Rust's cargo to build (https://rustup.rs); none found as \"cargo\""
    end
  end

  def test_a_plain_gem_build_of_the_source_tree_stops_and_names_make_ruby_gem
    Dir.mktmpdir("tasker-gem-build") do |dir|
      # The source tree as a Ruby developer has it; a copy, so that nothing is written into it.
      %w[lib ext sig tasker-core.gemspec README.md].each { |f| FileUtils.cp_r(File.join(RUBY_DIR, f), dir) }
      FileUtils.rm_rf(File.join(dir, "ext", "tasker_core", "vendor"))
      out, err, status = Open3.capture3("gem", "build", "tasker-core.gemspec", chdir: dir)
      refute status.success?
      assert_includes out + err, "tasker-core: build the gem from the repository root with `make ruby-gem`"
      assert_includes out + err, "`make ruby-gem-native`"
      assert_empty Dir[File.join(dir, "*.gem")]
    end
  end
end
