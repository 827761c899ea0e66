// hilt validate FILE... [--set NAME=VALUE]...
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/io_context.hpp>
#include "cli.hpp"

#include "hilt/bench.hpp"
#include "hilt/clock.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/loader.hpp"
#include "hilt/seq/parse.hpp"
#include "hilt/step.hpp"

namespace hilt::cli {

namespace {

enum class file_kind { sequence, fixture, unknown };

// Tells a sequence from a fixture by its top-level key; a YAML syntax error is reported by the
// specific checker, which knows the file's kind, so here it only yields `unknown` with the error.
file_kind sniff(const std::string& path, std::vector<config_error>& errors) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const config_error& e) {
    errors.push_back(e);
    return file_kind::unknown;
  }
  try {
    // ${param} references are not YAML: protect them as the sequence loader does.
    YAML::Node root = YAML::Load(seq::protect_references(text));
    if (root.IsMap() && root["sequence"]) return file_kind::sequence;
    if (root.IsMap() && root["fixture"]) return file_kind::fixture;
    errors.emplace_back(path + ":1:1",
                        "not a hilt file: expected a top-level 'sequence:' or 'fixture:' key");
  } catch (const YAML::Exception& e) {
    errors.emplace_back(where(path, e.mark), fmt::format("YAML syntax error: {}", e.msg));
  }
  return file_kind::unknown;
}

}  // namespace

std::map<std::string, std::string> parse_sets(const std::vector<std::string>& sets) {
  std::map<std::string, std::string> out;
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw config_error({}, fmt::format("--set '{}': expected NAME=VALUE", s));
    }
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

command_fn add_validate(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "validate",
      "Check sequence and fixture files without touching any device; every problem is "
      "printed as file:line:col: message");
  auto files = std::make_shared<std::vector<std::string>>();
  auto sets = std::make_shared<std::vector<std::string>>();
  cmd->add_option("files", *files, "Sequence or fixture files (YAML)")->required();
  cmd->add_option("--set", *sets, "Override a sequence parameter, NAME=VALUE (repeatable)");
  auto fixture_path = std::make_shared<std::string>();
  cmd->add_option("--fixture,-f", *fixture_path,
                  "Also check each sequence against this bench: its DUT selection, the devices and "
                  "links its steps need, what the opened devices accept (default: the fixture a "
                  "sequence names with 'fixture:', if any)");
  return [files, sets, fixture_path](app_state& st) {
    st.load_drivers();
    const auto overrides = parse_sets(*sets);
    std::optional<fixture> fx;
    if (!fixture_path->empty()) {
      try {
        fx = load_fixture(*fixture_path, &st.registry);
      } catch (const config_error& e) {
        fmt::print(stderr, "{}\n", e.what());
        return exit_code::bad_input;
      }
    }
    std::size_t problems = 0;
    for (const auto& f : *files) {
      std::vector<config_error> errors;
      const auto kind = sniff(f, errors);
      if (kind == file_kind::sequence) {
        errors = seq::check_sequence(f, seq::load_options{overrides});
        std::optional<fixture> own;  // the sequence's `fixture:`, when no --fixture is given
        if (errors.empty() && !fx) {
          const auto loaded = seq::load_sequence(f, seq::load_options{overrides});
          if (!loaded.fixture.empty()) {
            try {
              own = load_fixture(loaded.fixture, &st.registry);
            } catch (const config_error& e) {
              errors.push_back(e);
            }
          }
        }
        const std::optional<fixture>& bench_fx = fx ? fx : own;
        if (errors.empty() && bench_fx) {
          const auto loaded = seq::load_sequence(f, seq::load_options{overrides});
          const fixture* fxp = &*bench_fx;
          errors = seq::check_sequence_against_fixture(loaded, *fxp);
          // For what only the devices know (an attenuator's range, a device's class) the bench
          // is opened on a throwaway virtual clock — only when every device is emulated: opening
          // real hardware (claiming a USB bridge, connecting to an instrument) could disturb a
          // run in progress on it. `hilt run` makes these checks on any bench before a step.
          bool all_emulated = true;
          for (const auto& dev : fxp->devices)
            all_emulated = all_emulated && dev.address.transport.rfind("emu-", 0) == 0;
          if (errors.empty() && all_emulated) {
            try {
              asio::io_context io;
              hilt::clock clk(io, clock_mode::virtual_time);
              bench b(*fxp, st.registry, clk, fxp->seed);
              errors = seq::check_sequence_against_bench(loaded, b);
            } catch (const config_error& e) {
              errors.push_back(e);
            }
          }
        }
      } else if (kind == file_kind::fixture) {
        errors = check_fixture(f, st.registry);
      }
      for (const auto& e : errors)
        fmt::print(stderr, "{}\n", e.what());
      if (errors.empty()) {
        fmt::print("{}: ok ({})\n", f, kind == file_kind::sequence ? "sequence" : "fixture");
      }
      problems += errors.size();
    }
    if (problems > 0) {
      fmt::print(stderr, "{} problem{} found\n", problems, problems == 1 ? "" : "s");
      return exit_code::bad_input;
    }
    return exit_code::passed;
  };
}

}  // namespace hilt::cli
