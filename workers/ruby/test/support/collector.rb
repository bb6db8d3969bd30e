# frozen_string_literal: true

require "socket"
require "tempfile"

# A helper process the tests spawned (its pid in +@pid+), stopped with TERM once.
module Spawned
  def stop
    return unless @pid

    Process.kill("TERM", @pid)
    Process.wait(@pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  ensure
    @pid = nil
  end
end

# A real OTLP collector (rotel, from PyPI) on free loopback ports, and a parser for the
# spans it prints. The same approach as the Rust testkit: assert on what crossed the wire.
class Collector
  include Spawned

  Span = Struct.new(:trace_id, :parent_id, :span_id, :name, :attributes, :resource, :events, :links,
                    keyword_init: true) do
    def attr(key) = attributes[key]
    def event?(name) = events.any? { |e| e[:name] == name }
  end

  attr_reader :http_endpoint, :grpc_endpoint

  def initialize
    agent = ENV.fetch("ROTEL_AGENT") { raise "ROTEL_AGENT is not set: run the Ruby tests through `make test-ruby`" }
    grpc, http = free_port, free_port
    @out = Tempfile.new(["tasker-rotel", ".log"])
    @pid = Process.spawn(agent, "start", "--exporter", "blackhole", "--debug-log", "traces",
                         "--debug-log-verbosity", "detailed",
                         "--otlp-grpc-endpoint", "127.0.0.1:#{grpc}", "--otlp-http-endpoint", "127.0.0.1:#{http}",
                         out: @out.path, err: @out.path, in: File::NULL)
    @http_endpoint = "http://127.0.0.1:#{http}"
    @grpc_endpoint = "http://127.0.0.1:#{grpc}"
    wait_listening(http)
    wait_listening(grpc)
    # minitest runs the tests in an at_exit hook: stop only after they have run.
    defined?(Minitest) ? Minitest.after_run { stop } : at_exit { stop }
  end

  def output = File.read(@out.path).gsub(/\e\[[0-9;]*m/, "")

  def spans = self.class.parse(output)

  # Waits up to +timeout+ seconds until the block holds for the spans; returns them.
  def wait_for(timeout = 10)
    deadline = Time.now + timeout
    loop do
      s = spans
      return s if yield(s) || Time.now > deadline

      sleep 0.05
    end
  end

  def self.parse(text)
    spans = []
    resource = {}
    section = nil
    text.each_line do |raw|
      line = raw.strip
      case line
      when /\AResourceSpans #/ then resource = {}
                                    section = nil
      when "Resource attributes:" then section = :resource
      when /\AScopeSpans #/ then section = nil
      when /\ASpan #/
        spans << Span.new(trace_id: "", parent_id: "", span_id: "", name: "", attributes: {},
                          resource: resource.dup, events: [], links: [])
        section = nil
      when "Attributes:" then section = :attributes
      when "Events:" then section = :events
      when "Links:" then section = :links
      when /\ASpanEvent #/ then spans.last.events << { name: "", attributes: {} }
      when /\ASpanLink #/ then spans.last.links << { trace_id: "", span_id: "" }
      when /\A-> (.+?): (.*)\z/
        key, value = Regexp.last_match(1), unwrap(Regexp.last_match(2))
        case section
        when :resource then resource[key] = value
        when :attributes then spans.last.attributes[key] = value
        when :events
          ev = spans.last.events.last
          key == "Name" ? ev[:name] = value : (ev[:attributes][key] = value unless key == "Timestamp")
        when :links
          link = spans.last.links.last
          link[:trace_id] = value if key == "Trace ID"
          link[:span_id] = value if key == "ID"
        end
      when /\A(Trace ID|Parent ID|ID|Name)\s*:\s*(.*)\z/
        next if spans.empty?

        field = { "Trace ID" => :trace_id, "Parent ID" => :parent_id, "ID" => :span_id, "Name" => :name }
        spans.last[field[Regexp.last_match(1)]] = Regexp.last_match(2).strip
      end
    end
    spans
  end

  def self.unwrap(value)
    value[/\A(?:Str|Int|Bool|Double)\((.*)\)\z/, 1] || value
  end

  private

  def free_port
    s = TCPServer.new("127.0.0.1", 0)
    s.addr[1]
  ensure
    s&.close
  end

  def wait_listening(port)
    deadline = Time.now + 20
    begin
      TCPSocket.new("127.0.0.1", port).close
    rescue Errno::ECONNREFUSED
      raise "the collector did not listen on #{port}:\n#{output}" if Time.now > deadline

      sleep 0.05
      retry
    end
  end
end
