# frozen_string_literal: true

require_relative "test_helper"
require "rbs"

# The RBS signatures shipped in sig/ describe methods that exist, and every public method of
# the API has a signature: a stubtest for Ruby.
class SigTest < Minitest::Test
  SIG = File.join(Gem.loaded_specs.fetch("tasker-core").full_gem_path, "sig")

  def env
    loader = RBS::EnvironmentLoader.new
    loader.add(path: Pathname(SIG))
    RBS::Environment.from_loader(loader).resolve_type_names
  end

  def declarations
    env.class_decls.select { |name, _| name.to_s.start_with?("::TaskerCore") }
  end

  def test_every_declared_method_exists_at_runtime
    missing = []
    declarations.each do |name, entry|
      const = Object.const_get(name.to_s)
      entry.decls.each do |d|
        d.decl.members.grep(RBS::AST::Members::MethodDefinition).each do |m|
          ok = m.singleton? ? const.respond_to?(m.name, true) : const.method_defined?(m.name) || const.private_method_defined?(m.name)
          missing << "#{name}#{m.singleton? ? "." : "#"}#{m.name}" unless ok
        end
      end
    end
    assert_empty missing, "declared in sig/ but not defined"
  end

  def test_every_public_api_method_has_a_signature
    declared = Hash.new { |h, k| h[k] = [] }
    declarations.each do |name, entry|
      entry.decls.each do |d|
        d.decl.members.each do |m|
          case m
          when RBS::AST::Members::MethodDefinition then declared[name.to_s] << [m.singleton?, m.name]
          when RBS::AST::Members::AttrReader, RBS::AST::Members::AttrAccessor then declared[name.to_s] << [false, m.name]
          end
        end
      end
    end
    undocumented = []
    [TaskerCore::Worker, TaskerCore::StepHandler::Base, TaskerCore::Native::Worker, TaskerCore::HandlerRegistry].each do |klass|
      (klass.public_instance_methods(false) - [:initialize]).each do |m|
        undocumented << "#{klass}##{m}" unless declared["::#{klass}"].include?([false, m])
      end
    end
    %i[register_handler bootstrap_worker worker logger shutdown handlers].each do |m|
      undocumented << "TaskerCore.#{m}" unless declared["::TaskerCore"].include?([true, m])
    end
    assert_empty undocumented, "public methods without a signature in sig/"
  end
end
