// Loading a sequence file into the form the runner executes (hilt::sequence).
//
// The language is described in docs/sequences.md. In short:
//
//   sequence: smoke                       # required: marks the file as a sequence, names it
//   description: ...
//   parameters:                           # ${name} anywhere in a value; --set NAME=VALUE overrides
//     settle: { default: 30 s, description: ... }
//   on_fail: stop_dut                     # stop_dut | stop_all | never
//   setup:   [ steps ]
//   main:    [ steps ]                    # required
//   cleanup: [ steps ]                    # always runs
//
// Every error is a config_error whose what() is "file:line:col: message", the message saying what
// was expected and what was found.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hilt/error.hpp"
#include "hilt/sequence.hpp"

namespace hilt::seq {

class step_registry;

struct load_options {
  // --set NAME=VALUE, NAME must be a declared parameter; VALUE replaces its default as written.
  std::map<std::string, std::string> overrides;
  // The step types to accept; nullptr means builtin_steps().
  const step_registry* steps = nullptr;
};

// Loads and checks a sequence. Throws config_error with the first error (by position in the
// file): "FILE: cannot read: <strerror>" for a missing or unreadable file, the YAML parser's
// position for a syntax error, else the position of the offending value.
hilt::sequence load_sequence(const std::filesystem::path& file, const load_options& opts = {});

// Checks a sequence and returns every error it can find, sorted by position (empty: valid). For
// `hilt validate`. Never throws config_error.
std::vector<config_error> check_sequence(const std::filesystem::path& file,
                                         const load_options& opts = {});

// The same two from text already in memory: a sequence stored with a run (resume), or stdin.
// `file` is the name used in messages and stored in sequence::path.
hilt::sequence load_sequence_text(const std::string& text, const std::string& file,
                                  const load_options& opts = {});
std::vector<config_error> check_sequence_text(const std::string& text, const std::string& file,
                                              const load_options& opts = {});

// The keys accepted at the top level of a sequence file.
const std::vector<std::string>& top_level_keys();

}  // namespace hilt::seq
