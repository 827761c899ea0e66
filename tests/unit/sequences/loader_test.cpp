// Sequences that load: structure, parameters and overrides, the shipped library.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "hilt/seq/limit_sets.hpp"
#include "hilt/seq/step_registry.hpp"
#include "log/log.hpp"
#include "measure/measure.hpp"
#include "seq_test_util.hpp"
#include "wait/wait.hpp"

namespace hilt::seq::test {
namespace {

using namespace std::chrono_literals;

template <class T>
const T& impl_as(const step_node& n) {
  const T* p = dynamic_cast<const T*>(n.impl.get());
  if (p == nullptr) throw std::runtime_error("step " + n.type + " has another impl type");
  return *p;
}

TEST(SequenceLoader, Structure) {
  const auto seq = load_text(
      "sequence: bringup\n"
      "description: bring a module up\n"
      "on_fail: stop_all\n"
      "setup:\n"
      "  - identify\n"
      "main:\n"
      "  - step: wait\n"
      "    name: settle\n"
      "    duration: 1.5 min\n"
      "    timeout: 2 min\n"
      "    retry: 2\n"
      "  - step: group\n"
      "    name: lanes\n"
      "    steps:\n"
      "      - step: measure\n"
      "        monitor: tx_bias\n"
      "        lanes: [1, \"3-4\"]\n"
      "        side: media\n"
      "cleanup:\n"
      "  - step: log\n"
      "    message: bye\n"
      "    level: warning\n"
      "    station: true\n");
  EXPECT_EQ(seq.name, "bringup");
  EXPECT_EQ(seq.description, "bring a module up");
  EXPECT_EQ(seq.on_fail, stop_policy::stop_all);
  EXPECT_EQ(seq.path, "t.yaml");
  ASSERT_EQ(seq.setup.size(), 1u);
  EXPECT_EQ(seq.setup[0].type, "identify");
  EXPECT_EQ(seq.setup[0].name, "identify");
  EXPECT_EQ(seq.setup[0].where, "t.yaml:5:5");
  ASSERT_NE(seq.setup[0].impl, nullptr);

  ASSERT_EQ(seq.main.size(), 2u);
  const step_node& wait = seq.main[0];
  EXPECT_EQ(wait.type, "wait");
  EXPECT_EQ(wait.name, "settle");
  EXPECT_EQ(wait.where, "t.yaml:7:5");
  EXPECT_EQ(wait.timeout, std::chrono::nanoseconds(2min));
  EXPECT_EQ(wait.retries, 2);
  EXPECT_FALSE(wait.station);
  EXPECT_EQ(impl_as<wait_step>(wait).duration(), std::chrono::nanoseconds(90s));

  const step_node& group = seq.main[1];
  EXPECT_EQ(group.type, "group");
  EXPECT_EQ(group.name, "lanes");
  EXPECT_EQ(group.impl, nullptr);
  ASSERT_EQ(group.children.size(), 1u);
  const auto& m = impl_as<measure_step>(group.children[0]).settings();
  EXPECT_EQ(m.monitor, "tx_bias");
  EXPECT_EQ(m.lanes, (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(m.side, side::media);
  EXPECT_FALSE(m.limit);
  EXPECT_EQ(group.children[0].where, "t.yaml:15:9");

  ASSERT_EQ(seq.cleanup.size(), 1u);
  EXPECT_TRUE(seq.cleanup[0].station);
  EXPECT_EQ(impl_as<log_step>(seq.cleanup[0]).message(), "bye");
  EXPECT_EQ(impl_as<log_step>(seq.cleanup[0]).level(), severity::warning);
}

TEST(SequenceLoader, Defaults) {
  const auto seq = load_text("sequence: t\nmain: [identify]\n");
  EXPECT_EQ(seq.on_fail, stop_policy::stop_dut);
  EXPECT_TRUE(seq.setup.empty());
  EXPECT_TRUE(seq.cleanup.empty());
  ASSERT_EQ(seq.main.size(), 1u);
  EXPECT_EQ(seq.main[0].retries, 0);
  EXPECT_FALSE(seq.main[0].timeout);
  EXPECT_EQ(seq.text, "sequence: t\nmain: [identify]\n");
}

TEST(SequenceLoader, StationGroupMakesItsStepsStationSteps) {
  const auto seq = load_text(
      "sequence: t\n"
      "main:\n"
      "  - step: group\n"
      "    station: true\n"
      "    steps:\n"
      "      - step: wait\n"
      "        duration: 0 s\n");
  EXPECT_TRUE(seq.main[0].station);
  EXPECT_TRUE(seq.main[0].children[0].station);
}

const std::string param_text =
    "sequence: t\n"
    "parameters:\n"
    "  settle: { default: 30 s, description: warm-up }\n"
    "  t_max: 70 C\n"
    "main:\n"
    "  - step: wait\n"
    "    duration: ${settle}\n"
    "  - step: measure\n"
    "    monitor: temperature\n"
    "    limit: { max: ${t_max}, marginal: 5 C }\n"
    "  - step: log\n"
    "    message: settled ${settle}, limit ${t_max}; literal $${settle} and $5\n";

TEST(SequenceParameters, DefaultsAreSubstituted) {
  const auto seq = load_text(param_text);
  EXPECT_EQ(seq.parameters,
            (std::map<std::string, std::string>{{"settle", "30 s"}, {"t_max", "70 C"}}));
  EXPECT_EQ(impl_as<wait_step>(seq.main[0]).duration(), std::chrono::nanoseconds(30s));
  const auto& lim = *impl_as<measure_step>(seq.main[1]).settings().limit;
  EXPECT_EQ(lim.high, 70.0);
  EXPECT_EQ(lim.marginal, 5.0);
  EXPECT_EQ(impl_as<log_step>(seq.main[2]).message(),
            "settled 30 s, limit 70 C; literal ${settle} and $5");
}

TEST(SequenceParameters, OverridesReplaceDefaults) {
  const auto seq = load_text(param_text, {{"settle", "2 h"}, {"t_max", "85 C"}});
  EXPECT_EQ(seq.parameters.at("settle"), "2 h");
  EXPECT_EQ(impl_as<wait_step>(seq.main[0]).duration(), std::chrono::nanoseconds(2h));
  EXPECT_EQ(impl_as<measure_step>(seq.main[1]).settings().limit->high, 85.0);
  EXPECT_EQ(impl_as<log_step>(seq.main[2]).message(),
            "settled 2 h, limit 85 C; literal ${settle} and $5");
}

TEST(SequenceParameters, UnitsInOverridesAreConverted) {
  const auto seq = load_text(param_text, {{"t_max", "176 F"}});
  EXPECT_DOUBLE_EQ(*impl_as<measure_step>(seq.main[1]).settings().limit->high, 80.0);
}

TEST(SequenceLoader, FilesWithBomAreLocatedAfterIt) {
  temp_dir dir;
  const auto file = dir.write("bom.yaml",
                              "\xEF\xBB\xBFsequence: t\nmain:\n  - step: wait\n"
                              "    duration: 5 V\n");
  const auto errors = check_sequence(file);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where(), file.string() + ":4:15");
}

TEST(SequenceLoader, TextVariants) {
  EXPECT_TRUE(check_sequence_text("sequence: t\nmain: [identify]\n", "stored").empty());
  const auto errors = check_sequence_text("sequence: t\nmain: [idnetify]\n", "stored");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where(), "stored:2:8");
  EXPECT_THROW((void)load_sequence_text("main: []\n", "stored"), config_error);
}

// A step type from outside the built-in set, as a plugin or a later issue would add one.
class beep_step final : public step {
 public:
  task<step_outcome> run(step_context&) const override { co_return step_outcome{}; }
};

TEST(StepRegistry, CustomTypesPlugIn) {
  step_registry registry;
  register_builtin_steps(registry);
  registry.add(step_type{
      .name = "beep",
      .summary = "beeps",
      .options = {"volume"},
      .needs_dut = false,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        static constexpr dimension ratio[] = {dimension::ratio_db};
        const auto* v = require_option(ctx, spec, "volume", "a level in dB");
        if (v == nullptr || !ctx.read_quantity(v->value, "volume", ratio)) return nullptr;
        return std::make_shared<beep_step>();
      },
  });
  EXPECT_EQ(registry.names(), (std::vector<std::string>{
                                  "beep", "ber", "fec", "group", "identify", "log", "low_power",
                                  "measure", "power", "power_up", "prompt", "repeat", "set",
                                  "sweep", "thermal_soak", "tx_disable", "wait", "wait_until"}));
  EXPECT_THROW(registry.add(step_type{.name = "beep", .parse = registry.find("beep")->parse}),
               std::logic_error);

  load_options opts;
  opts.steps = &registry;
  const auto seq =
      load_sequence_text("sequence: t\nmain:\n  - step: beep\n    volume: 3 dB\n", "t.yaml", opts);
  EXPECT_EQ(seq.main[0].type, "beep");
  const auto errors =
      check_sequence_text("sequence: t\nmain:\n  - step: beep\n    volume: 3 V\n", "t.yaml", opts);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(std::string(errors[0].what()),
            "t.yaml:4:13: volume: expected a ratio (dB), got voltage '3 V'");
  // The built-in registry does not know it.
  EXPECT_EQ(
      check_sequence_text("sequence: t\nmain: [beep]\n", "t.yaml").at(0).message(),
      "unknown step type 'beep' (did you mean 'ber'?); step types: ber, fec, group, identify, "
      "log, low_power, measure, power, power_up, prompt, repeat, set, sweep, thermal_soak, "
      "tx_disable, wait, wait_until");
}

TEST(SequenceLibrary, SmokeLoads) {
  const std::filesystem::path file = std::filesystem::path(HILT_SEQUENCE_LIBRARY) / "smoke.yaml";
  const auto errors = check_sequence(file);
  for (const auto& e : errors)
    ADD_FAILURE() << e.what();
  const auto seq = load_sequence(file);
  EXPECT_EQ(seq.name, "smoke");
  ASSERT_EQ(seq.setup.size(), 1u);
  EXPECT_EQ(seq.setup[0].type, "identify");
  ASSERT_EQ(seq.main.size(), 4u);
  EXPECT_EQ(seq.main[0].type, "wait");
  EXPECT_EQ(impl_as<wait_step>(seq.main[0]).duration(), std::chrono::nanoseconds(30s));
  const auto& temp = impl_as<measure_step>(seq.main[1]).settings();
  EXPECT_EQ(temp.monitor, "temperature");
  EXPECT_EQ(temp.limit->cmp, limit::comparator::range);
  const auto& vcc = impl_as<measure_step>(seq.main[2]).settings();
  EXPECT_EQ(vcc.limit->cmp, limit::comparator::tol_pct);
  EXPECT_DOUBLE_EQ(*vcc.limit->low, 3.135);
  EXPECT_DOUBLE_EQ(*vcc.limit->high, 3.465);
  ASSERT_EQ(seq.main[3].children.size(), 1u);
  EXPECT_EQ(impl_as<measure_step>(seq.main[3].children[0]).settings().monitor, "tx_power");
  EXPECT_EQ(impl_as<log_step>(seq.cleanup.at(0)).message(),
            "smoke sequence done (settle 30 s, t_max 70 C)");
  // The overrides the file's header shows work.
  load_options opts;
  opts.overrides = {{"settle", "2min"}, {"t_max", "65 C"}};
  const auto tuned = load_sequence(file, opts);
  EXPECT_EQ(impl_as<wait_step>(tuned.main[0]).duration(), std::chrono::nanoseconds(2min));
}

TEST(SequenceLibrary, BringupLoads) {
  const std::filesystem::path file = std::filesystem::path(HILT_SEQUENCE_LIBRARY) / "bringup.yaml";
  for (const auto& e : check_sequence(file))
    ADD_FAILURE() << e.what();
  const auto seq = load_sequence(file);
  EXPECT_EQ(seq.name, "bringup");
  ASSERT_EQ(seq.setup.size(), 1u);
  EXPECT_EQ(seq.setup[0].type, "identify");
  std::vector<std::string> types;
  for (const auto& n : seq.main)
    types.push_back(n.type);
  EXPECT_EQ(types, (std::vector<std::string>{"low_power", "wait_until", "power_up", "wait_until",
                                             "wait", "repeat"}));
  EXPECT_EQ(seq.main[5].children.size(), 3u);  // readings: 3
  load_options opts;
  opts.overrides = {{"readings", "5"}};
  EXPECT_EQ(load_sequence(file, opts).main[5].children.size(), 5u);
  // The limit-set file it names is valid on its own too.
  EXPECT_TRUE(check_limit_set_file(std::filesystem::path(HILT_SEQUENCE_LIBRARY) /
                                   "limits/bringup-limits.yaml")
                  .empty());
}

// Nothing crashes on bad bytes (DESIGN.md rule 6): every truncation of the shipped sequence, and
// every position overwritten with characters that matter to YAML or to ${}, is reported as errors
// without throwing anything but config_error.
TEST(SequenceLibrary, MangledTextNeverCrashes) {
  std::ifstream in(std::filesystem::path(HILT_SEQUENCE_LIBRARY) / "smoke.yaml", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(text.size(), 100u);
  std::size_t rejected = 0;
  for (std::size_t n = 0; n < text.size(); ++n) {
    rejected += check_sequence_text(text.substr(0, n), "t.yaml").empty() ? 0 : 1;
  }
  for (std::size_t i = 0; i < text.size(); i += 7) {
    for (char c : std::string("{}[]:-$\t\"'#&*!|>%@`")) {
      std::string mangled = text;
      mangled[i] = c;
      for (const auto& e : check_sequence_text(mangled, "t.yaml")) {
        EXPECT_TRUE(std::string(e.what()).starts_with("t.yaml")) << e.what();
      }
    }
  }
  EXPECT_GT(rejected, 0u);
}

// The same for bringup.yaml, which also loads a limit-set file and expands a loop.
TEST(SequenceLibrary, MangledBringupNeverCrashes) {
  const std::string file = std::string(HILT_SEQUENCE_LIBRARY) + "/bringup.yaml";
  std::ifstream in(file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(text.size(), 100u);
  for (std::size_t n = 0; n < text.size(); n += 3)
    (void)check_sequence_text(text.substr(0, n), file);
  for (std::size_t i = 0; i < text.size(); i += 17) {
    for (char c : std::string("{}[]:-$\t\"'#&*!|>%@`")) {
      std::string mangled = text;
      mangled[i] = c;
      for (const auto& e : check_sequence_text(mangled, file)) {
        const std::string what = e.what();
        EXPECT_TRUE(what.starts_with(file) || what.find("bringup-limits.yaml") != std::string::npos)
            << what;
      }
    }
  }
}

}  // namespace
}  // namespace hilt::seq::test
