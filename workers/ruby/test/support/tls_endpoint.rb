# frozen_string_literal: true

require "socket"
require "tmpdir"
require_relative "collector"

# A real TLS endpoint (socat, OpenSSL) in front of the collector, with a CA made for the
# test: the same script the Rust and Python suites use, testkit/bin/tls-endpoint.
class TlsEndpoint
  include Spawned

  SCRIPT = File.expand_path("../../../../testkit/bin/tls-endpoint", __dir__)

  attr_reader :dir, :url

  def initialize(target_url)
    @dir = Dir.mktmpdir("tasker-tls")
    system(SCRIPT, "certs", @dir, exception: true)
    port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    @pid = Process.spawn(SCRIPT, "serve", @dir, port.to_s, target_url[/:(\d+)\z/, 1],
                         out: File::NULL, err: File::NULL, in: File::NULL)
    @url = "https://localhost:#{port}"
    wait_listening(port)
    defined?(Minitest) ? Minitest.after_run { stop } : at_exit { stop }
  end

  def ca = File.join(@dir, "ca.pem")
  def other_ca = File.join(@dir, "other-ca.pem")

  private

  def wait_listening(port)
    deadline = Time.now + 10
    begin
      TCPSocket.new("127.0.0.1", port).close
    rescue SystemCallError
      raise "socat did not listen on #{port}" if Time.now > deadline

      sleep 0.05
      retry
    end
  end
end
