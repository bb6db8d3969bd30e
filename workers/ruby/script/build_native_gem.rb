# frozen_string_literal: true

# Builds the precompiled platform gem (workers/ruby/pkg/tasker-core-VERSION-x86_64-linux.gem):
# the Ruby code and the compiled extension, no ext/ and nothing to compile at install, so
# `gem install` needs no Rust, clang or cargo.
#
# Usage: ruby script/build_native_gem.rb EXTENSION.so
# The extension is the one `make ruby-install` compiled from the source gem (the binary the
# Ruby tests ran against), built against this Ruby's headers: the gem requires this Ruby's
# minor version and this platform.

require "fileutils"
require "rbconfig"

so = ARGV.fetch(0) { abort "usage: ruby #{$PROGRAM_NAME} EXTENSION.so" }
abort "no compiled extension at #{so}: run `make ruby-install` first" unless File.file?(so)

RUBY_DIR = File.expand_path("..", __dir__)
STAGE = File.join(RUBY_DIR, "pkg", "native-stage")

FileUtils.rm_rf(STAGE)
FileUtils.mkdir_p(STAGE)
%w[lib sig].each { |d| FileUtils.cp_r(File.join(RUBY_DIR, d), STAGE) }
FileUtils.cp(%w[tasker-core.gemspec README.md].map { |f| File.join(RUBY_DIR, f) }, STAGE)
# The gemspec sees lib/tasker_core.so and makes the platform gem.
staged = File.join(STAGE, "lib", "tasker_core.so")
FileUtils.cp(so, staged)
# Without its debug info (a source gem's build keeps it): a tenth of the size.
system("strip", "--strip-debug", staged) or warn "strip is not available: the gem carries the extension's debug info"

Dir.chdir(STAGE) do
  system("gem", "build", "tasker-core.gemspec", "--quiet", exception: true)
end
gem_file = Dir[File.join(STAGE, "tasker-core-*-*.gem")].first or abort "gem build made no platform gem in #{STAGE}"
FileUtils.mv(gem_file, File.join(RUBY_DIR, "pkg"))
puts File.join(RUBY_DIR, "pkg", File.basename(gem_file))
