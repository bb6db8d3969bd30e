# frozen_string_literal: true

require_relative "lib/tasker_core/version"

# Two gems come from this file, each built by a script that stages what it needs:
# - the source gem (`make ruby-gem`, script/build_gem.rb): the extension's Rust sources with
#   the workspace crates vendored beside them, compiled by cargo at `gem install`;
# - the platform gem (`make ruby-gem-native`, script/build_native_gem.rb): the compiled
#   extension in lib/, nothing to compile.
# In the source tree the workspace crates are ../../, which a gem cannot carry: a plain
# `gem build` here would make a gem that fails at install, so it stops and says which to run.
native = File.file?(File.join(__dir__, "lib", "tasker_core.so"))
vendored = File.directory?(File.join(__dir__, "ext", "tasker_core", "vendor"))
unless native || vendored
  raise Gem::InvalidSpecificationException,
        "tasker-core: build the gem from the repository root with `make ruby-gem` (the source gem, " \
        "compiled at install; it vendors the workspace crates this directory only links to) or " \
        "`make ruby-gem-native` (precompiled for #{Gem::Platform.local}); a plain `gem build` here " \
        "would make a gem that cannot compile"
end

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
  s.files = Dir["lib/**/*.rb", "sig/**/*.rbs", "README.md"]
  if native
    # Compiled against this Ruby's headers, for this platform.
    s.platform = Gem::Platform.local
    s.required_ruby_version = "~> #{RbConfig::CONFIG["MAJOR"]}.#{RbConfig::CONFIG["MINOR"]}.0"
    s.files += ["lib/tasker_core.so"]
  else
    s.required_ruby_version = ">= 3.1"
    s.files += Dir["ext/tasker_core/extconf.rb", "ext/tasker_core/Cargo.toml", "ext/tasker_core/Cargo.lock",
                   "ext/tasker_core/src/**/*.rs", "ext/tasker_core/vendor/**/*"]
    s.extensions = ["ext/tasker_core/extconf.rb"]
  end
  s.require_paths = ["lib"]
  s.metadata["rubygems_mfa_required"] = "true"
end
