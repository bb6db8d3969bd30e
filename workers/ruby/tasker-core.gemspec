# frozen_string_literal: true

require_relative "lib/tasker_core/version"

Gem::Specification.new do |s|
  s.name = "tasker-core"
  s.version = TaskerCore::VERSION
  s.summary = "Ruby step handlers on the tasker-core Rust worker, with one trace per task"
  s.description = <<~DESC
    Write workflow step handlers in Ruby; the Rust core runs the workflow, hands each step
    to your handler across the FFI boundary, and records OpenTelemetry spans so a task is
    one trace. Console logging works from require; OTLP export starts at bootstrap_worker.
  DESC
  s.authors = ["tasker-core developers"]
  s.license = "MIT"
  s.required_ruby_version = ">= 3.1"
  s.files = Dir["lib/**/*.rb", "sig/**/*.rbs", "README.md",
                "ext/tasker_core/extconf.rb", "ext/tasker_core/Cargo.toml", "ext/tasker_core/Cargo.lock",
                "ext/tasker_core/src/**/*.rs", "ext/tasker_core/vendor/**/*"]
  s.extensions = ["ext/tasker_core/extconf.rb"]
  s.require_paths = ["lib"]
  s.metadata["rubygems_mfa_required"] = "true"
end
