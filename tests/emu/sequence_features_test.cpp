// Sequence-language features end to end through the real `hilt` binary on the emulated bench:
// the shipped bringup.yaml (limit sets by part number, power-up timing, repeat), a sweep sequence
// (sweep points on every step row, limit sources, the automatic prompt), and validate's messages.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "process.hpp"

using hilt::test::query_one;
using hilt::test::query_rows;
using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

std::string bringup() {
  return (source_dir() / "sequences/library/bringup.yaml").string();
}

}  // namespace

TEST(SequenceFeatures, BringupPassesOnTheEmulatedBench) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  const auto r = run_hilt({"run", bringup(), "--db", db, "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(query_one(db, "SELECT status FROM runs"), "passed");
  EXPECT_EQ(query_one(db, "SELECT count(*) FROM duts WHERE status = 'ok'"), "8");
  EXPECT_EQ(query_one(db, "SELECT count(*) FROM measurements WHERE verdict NOT IN ('pass')"), "0");

  // Power-up timing, judged by each part's own limit from the limit set, with its source.
  const std::string lims = (source_dir() / "sequences/library/limits/bringup-limits.yaml").string();
  EXPECT_EQ(query_rows(db,
                       "SELECT d.slot, m.value, m.unit, m.comparator, m.limit_high, m.limit_source "
                       "FROM measurements m JOIN duts d ON d.id = m.dut_id "
                       "WHERE m.name = 'power_up_time' ORDER BY d.slot"),
            (std::vector<std::string>{
                "1|2.5|s|le|5.0|" + lims + ":8:20 (limit set bringup, parts EMU-DD-400G-*)",
                "2|2.5|s|le|5.0|" + lims + ":8:20 (limit set bringup, parts EMU-DD-400G-*)",
                "3|3.2|s|le|10.0|" + lims + ":11:20 (limit set bringup, parts EMU-OS-800G-*)",
                "4|3.2|s|le|10.0|" + lims + ":11:20 (limit set bringup, parts EMU-OS-800G-*)",
                // The LPO part has no DSP to boot: it is ready in 0.5 s.
                "5|0.5|s|le|10.0|" + lims + ":11:20 (limit set bringup, parts EMU-OS-800G-*)",
                "6|2.5|s|le|5.0|" + lims + ":8:20 (limit set bringup, parts EMU-DD-400G-*)",
                "7|3.2|s|le|10.0|" + lims + ":11:20 (limit set bringup, parts EMU-OS-800G-*)",
                "8|2.5|s|le|5.0|" + lims + ":8:20 (limit set bringup, parts EMU-DD-400G-*)",
            }));
  // Fallback limits ("*") for what the part entries do not define.
  EXPECT_EQ(
      query_one(db,
                "SELECT count(*) FROM measurements WHERE name = 'temperature' AND "
                "limit_source LIKE '%bringup-limits.yaml:15:18 (limit set bringup, parts *)'"),
      "24");  // 8 DUTs x 3 readings
  // Every lane of every reading: 400G-DR4 has 4 media lanes, 800G-DR8 has 8.
  EXPECT_EQ(query_one(db, "SELECT count(*) FROM measurements WHERE name = 'tx_power'"),
            std::to_string(3 * (4 + 4 + 8 + 8 + 8 + 4 + 8 + 4)));

  // The repeat: one group per reading, its point on the group and on every step inside it.
  EXPECT_EQ(query_rows(db,
                       "SELECT s.path, s.name, s.type, s.sweep_point_json FROM steps s JOIN duts d "
                       "ON d.id = s.dut_id WHERE d.slot = 1 AND s.path LIKE 'main/6/repeat/2/%' "
                       "ORDER BY s.id"),
            (std::vector<std::string>{
                R"(main/6/repeat/2/iteration|reading=2|iteration|{"reading":2})",
                R"(main/6/repeat/2/iteration/1/measure|case temperature|measure|{"reading":2})",
                R"(main/6/repeat/2/iteration/2/measure|supply voltage|measure|{"reading":2})",
                R"(main/6/repeat/2/iteration/3/measure|laser bias|measure|{"reading":2})",
                R"(main/6/repeat/2/iteration/4/measure|transmitted power|measure|{"reading":2})",
                R"(main/6/repeat/2/iteration/5/measure|received power|measure|{"reading":2})",
                R"(main/6/repeat/2/iteration/6/wait|wait|wait|{"reading":2})",
            }));
  EXPECT_EQ(
      query_one(db, "SELECT sweep_point_json FROM steps WHERE path = 'main/3/power_up' LIMIT 1"),
      "NULL");
}

TEST(SequenceFeatures, ASweepRecordsItsPointOnEveryStep) {
  temp_dir d;
  d.write("lims.yaml",
          "limit_set: e2e\n"
          "parts:\n"
          "  \"EMU-DD-*\":\n"
          "    temperature: { max: 70 C }\n"
          "  \"*\":\n"
          "    temperature: { max: 75 C }\n");
  const auto seq = d.write("sweep.yaml",
                           "sequence: sweep-e2e\n"
                           "limits: lims.yaml\n"
                           "duts: all\n"
                           "setup: [identify]\n"
                           "main:\n"
                           "  - step: sweep\n"
                           "    over: settle\n"
                           "    values: [1 min, 2 min]\n"
                           "    steps:\n"
                           "      - step: repeat\n"
                           "        count: 2\n"
                           "        index: reading\n"
                           "        steps:\n"
                           "          - step: wait\n"
                           "            duration: ${settle}\n"
                           "          - step: measure\n"
                           "            monitor: temperature\n"
                           "            limit_ref: temperature\n"
                           "  - step: prompt\n"
                           "    station: true\n"
                           "    message: Check the loopback fibres\n"
                           "    ask: yes_no\n");
  const auto db = (d / "runs.db").string();
  const auto r = run_hilt({"run", seq, "--db", db, "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // 2 points x 2 readings x the point's settle time.
  EXPECT_EQ(query_one(db, "SELECT CAST(round(duration_s) AS INTEGER) FROM runs"), "360");

  EXPECT_EQ(
      query_rows(db,
                 "SELECT s.path, s.name, s.sweep_point_json FROM steps s JOIN duts d ON "
                 "d.id = s.dut_id WHERE d.slot = 3 AND s.path LIKE 'main/1/%' ORDER BY s.id"),
      (std::vector<std::string>{
          R"(main/1/sweep|sweep|NULL)",
          R"(main/1/sweep/1/point|settle=1 min|{"settle":"1 min"})",
          R"(main/1/sweep/1/point/1/repeat|repeat|{"settle":"1 min"})",
          R"(main/1/sweep/1/point/1/repeat/1/iteration|reading=1|{"settle":"1 min","reading":1})",
          R"(main/1/sweep/1/point/1/repeat/1/iteration/1/wait|wait|{"settle":"1 min","reading":1})",
          R"(main/1/sweep/1/point/1/repeat/1/iteration/2/measure|measure|{"settle":"1 min","reading":1})",
          R"(main/1/sweep/1/point/1/repeat/2/iteration|reading=2|{"settle":"1 min","reading":2})",
          R"(main/1/sweep/1/point/1/repeat/2/iteration/1/wait|wait|{"settle":"1 min","reading":2})",
          R"(main/1/sweep/1/point/1/repeat/2/iteration/2/measure|measure|{"settle":"1 min","reading":2})",
          R"(main/1/sweep/2/point|settle=2 min|{"settle":"2 min"})",
          R"(main/1/sweep/2/point/1/repeat|repeat|{"settle":"2 min"})",
          R"(main/1/sweep/2/point/1/repeat/1/iteration|reading=1|{"settle":"2 min","reading":1})",
          R"(main/1/sweep/2/point/1/repeat/1/iteration/1/wait|wait|{"settle":"2 min","reading":1})",
          R"(main/1/sweep/2/point/1/repeat/1/iteration/2/measure|measure|{"settle":"2 min","reading":1})",
          R"(main/1/sweep/2/point/1/repeat/2/iteration|reading=2|{"settle":"2 min","reading":2})",
          R"(main/1/sweep/2/point/1/repeat/2/iteration/1/wait|wait|{"settle":"2 min","reading":2})",
          R"(main/1/sweep/2/point/1/repeat/2/iteration/2/measure|measure|{"settle":"2 min","reading":2})",
      }));
  // Which point a measurement was taken at, through its step.
  EXPECT_EQ(query_one(db,
                      "SELECT count(*) FROM measurements m JOIN steps s ON s.id = m.step_id WHERE "
                      "json_extract(s.sweep_point_json, '$.settle') = '2 min'"),
            "16");  // 8 DUTs x 2 readings
  // Limits by part number: the 400G parts got EMU-DD-*, the 800G parts the fallback.
  EXPECT_EQ(query_rows(db,
                       "SELECT d.slot, m.limit_high, m.limit_source FROM measurements m JOIN duts "
                       "d ON d.id = m.dut_id JOIN steps s ON s.id = m.step_id WHERE s.path = "
                       "'main/1/sweep/1/point/1/repeat/1/iteration/2/measure' ORDER BY d.slot"),
            (std::vector<std::string>{
                "1|70.0|" + (d / "lims.yaml").string() + ":4:18 (limit set e2e, parts EMU-DD-*)",
                "2|70.0|" + (d / "lims.yaml").string() + ":4:18 (limit set e2e, parts EMU-DD-*)",
                "3|75.0|" + (d / "lims.yaml").string() + ":6:18 (limit set e2e, parts *)",
                "4|75.0|" + (d / "lims.yaml").string() + ":6:18 (limit set e2e, parts *)",
                "5|75.0|" + (d / "lims.yaml").string() + ":6:18 (limit set e2e, parts *)",
                "6|70.0|" + (d / "lims.yaml").string() + ":4:18 (limit set e2e, parts EMU-DD-*)",
                "7|75.0|" + (d / "lims.yaml").string() + ":6:18 (limit set e2e, parts *)",
                "8|70.0|" + (d / "lims.yaml").string() + ":4:18 (limit set e2e, parts EMU-DD-*)",
            }));
  // The prompt ran once, as a station step, and answered itself: stdin is not a terminal.
  EXPECT_EQ(query_rows(db, "SELECT kind, message FROM events WHERE kind = 'prompt'"),
            (std::vector<std::string>{"prompt|prompt 'Check the loopback fibres' answered "
                                      "automatically: yes (stdin is not a terminal)"}));
}

TEST(SequenceFeatures, ValidateReportsLanguageErrorsWithLineAndColumn) {
  temp_dir d;
  const auto seq = d.write("bad.yaml",
                           "sequence: bad\n"
                           "limits: missing.yaml\n"
                           "main:\n"
                           "  - step: sweep\n"
                           "    over: temperature\n"
                           "    range: { from: 85 C, to: 25 C, step: 10 C }\n"
                           "    steps: [identify]\n"
                           "  - step: wait_until\n"
                           "    condition: temperature <= 50 V\n"
                           "    timeout: 1 min\n");
  const auto r = run_hilt({"validate", seq});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err, seq +
                       ":2:9: limits: limit-set file 'missing.yaml' (relative to the sequence's "
                       "folder): cannot read: No such file or directory\n" +
                       seq +
                       ":6:12: range: from 85 C to 25 C with step 10 C is empty: the step "
                       "goes up, away from 25 C; write step: -10 C to go down\n" +
                       seq +
                       ":9:16: condition: expected a temperature (C, degC, K, F) for "
                       "'temperature', got voltage '50 V'\n"
                       "3 problems found\n");
  // And `run` refuses before touching any device, with the first of them.
  const auto run = run_hilt({"run", seq, "--db", (d / "x.db").string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find(seq + ":2:9: limits: limit-set file 'missing.yaml'"), std::string::npos)
      << run.err;
}
