// The loaded form of a sequence: what the runner executes.
//
// The YAML language and its loader live in sequences/ (hilt::seq::load_sequence); by the time a
// sequence reaches this form its parameters are resolved (defaults and --set overrides), every
// step's options are checked and parsed into its step object, and every node knows where it was
// written (file:line:col), so errors during a run can still point at the source.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/step.hpp"

namespace hilt {

struct step_node {
  std::string type;                        // "identify", "wait", "measure", "group", ...
  std::string name;                        // display name; defaults to the type
  std::string where;                       // "file:line:col"
  std::shared_ptr<const step> impl;        // null for a group
  std::vector<step_node> children;         // a group's steps
  std::optional<clock::duration> timeout;  // per-step timeout (harness clock)
  int retries = 0;                         // extra attempts after a failure or error
  bool station = false;  // runs once for the bench while the DUTs wait, not once per DUT
  // For the nodes a loop or sweep expands into: the point of the sweep this node is, as a JSON
  // object ({"temperature": "85 C", "vcc": "3.465 V"}); recorded with the step. Empty otherwise.
  std::string sweep_point_json;
};

enum class stop_policy {
  stop_dut,  // a failed or errored DUT skips the rest of main (cleanup still runs); others go on
  stop_all,  // the first failure stops every DUT's main
  never,     // keep going whatever happens
};

struct sequence {
  std::string name;
  std::string description;
  std::string path;                               // as given on the command line
  std::string text;                               // the file's bytes, stored with the run
  std::map<std::string, std::string> parameters;  // resolved: name -> value as written
  std::vector<step_node> setup, main, cleanup;    // cleanup always runs
  stop_policy on_fail = stop_policy::stop_dut;
  // The bench the sequence was written for (its `fixture:` key, resolved against the sequence
  // file's folder); empty when it names none. `hilt run` and `hilt validate` use it when no
  // --fixture is given.
  std::string fixture;
};

}  // namespace hilt
