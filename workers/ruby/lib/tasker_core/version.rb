# frozen_string_literal: true

module TaskerCore
  # The gem's version, which is the Rust core's.
  VERSION = "0.1.0"
end
