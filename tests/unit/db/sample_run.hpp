// A small but complete run (every kind of record) written through the recorder, shared by the
// recorder, view and query tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "hilt/db/recorder.hpp"

namespace hilt::db::testing {

struct sample_run_ids {
  std::int64_t run = 0;
  std::int64_t psu = 0;
  std::int64_t dut1 = 0, dut2 = 0;
  std::int64_t setup = 0, ber1 = 0, ber2 = 0, power2 = 0;
  std::int64_t rx_power = 0, temperature = 0, chamber = 0;
  std::int64_t m_pass = 0, m_fail = 0, m_marginal = 0;
  std::int64_t alarm = 0;
};

inline const char* const k_sequence_text = "name: smoke\nsteps:\n  - ber: {seconds: 10}\n";
inline const char* const k_fixture_text = "devices:\n  psu1: scpi+tcp://127.0.0.1:5025\n";

// Run: station step 'setup' (done); DUT slot 1 passes ber; DUT slot 2 fails power (error
// code) after a marginal ber. Samples: rx_power per lane for both DUTs over 3 time points,
// module temperature, and a station chamber temperature.
inline sample_run_ids write_sample_run(recorder& rec) {
  sample_run_ids ids;
  ids.run = rec.begin_run({.uuid = "",
                           .sequence_name = "smoke",
                           .sequence_path = "sequences/library/smoke.yaml",
                           .sequence_text = k_sequence_text,
                           .fixture_path = "fixtures/emu.yaml",
                           .fixture_text = k_fixture_text,
                           .parameters_json = R"({"lanes": 8})",
                           .hilt_version = "0.1.0",
                           .clock_mode = "virtual",
                           .host = "bench-7",
                           .operator_name = "ada",
                           .seed = 42});
  ids.psu = rec.add_run_device({.run_id = ids.run,
                                .name = "psu1",
                                .address = "scpi+tcp://127.0.0.1:5025",
                                .driver = "scpi_psu",
                                .device_class = "power_supply",
                                .vendor = "Acme",
                                .model = "PS-3000",
                                .serial = "A123",
                                .firmware = "1.2",
                                .calibration_due = "2025-01-31",
                                .identity_json = R"({"channels": 2})"});
  ids.dut1 = rec.add_dut({.run_id = ids.run, .slot = 1, .name = "dut1", .device = "slot1"});
  ids.dut2 = rec.add_dut({.run_id = ids.run, .slot = 2, .name = "dut2", .device = "slot2"});
  // Identity read after power-up.
  rec.update_dut(ids.dut1, {.name = "dut1",
                            .device = "slot1",
                            .vendor = "OptiCo",
                            .part_number = "QDD-800G-DR8",
                            .serial = "SN0001",
                            .revision = "B",
                            .firmware = "3.1.4",
                            .identity_json = R"({"cmis": "5.2"})"});

  ids.setup = rec.begin_step({.run_id = ids.run,
                              .ordinal = 0,
                              .path = "main/0/setup",
                              .name = "setup",
                              .type = "power_on",
                              .started_t = 0.0});
  rec.end_step(ids.setup, step_verdict::done, 1.5);

  ids.ber1 = rec.begin_step({.run_id = ids.run,
                             .dut_id = ids.dut1,
                             .ordinal = 1,
                             .path = "main/1/ber",
                             .name = "ber",
                             .type = "ber",
                             .sweep_point_json = R"({"temperature_c": 25})",
                             .started_t = 1.5});
  ids.ber2 = rec.begin_step({.run_id = ids.run,
                             .dut_id = ids.dut2,
                             .ordinal = 1,
                             .path = "main/1/ber",
                             .name = "ber",
                             .type = "ber",
                             .started_t = 1.5});
  ids.rx_power = rec.metric("rx_power", "dBm");
  ids.temperature = rec.metric("module_temperature", "C");
  ids.chamber = rec.metric("chamber/temperature", "C");
  for (int i = 0; i < 3; ++i) {
    const double t = 2.0 + i;
    for (int lane = 0; lane < 8; ++lane) {
      rec.add_sample(ids.run, ids.dut1, ids.rx_power, lane, t, -2.0 - 0.1 * lane - 0.01 * i);
      rec.add_sample(ids.run, ids.dut2, ids.rx_power, lane, t, -3.0 - 0.1 * lane - 0.01 * i);
    }
    rec.add_sample(ids.run, ids.dut1, ids.temperature, module_lane, t, 40.0 + i);
    rec.add_sample(ids.run, ids.dut2, ids.temperature, module_lane, t, 41.0 + i);
    rec.add_sample(ids.run, station_dut, ids.chamber, module_lane, t, 25.0 + 0.1 * i);
  }
  rec.add_ber_counts({.run_id = ids.run,
                      .step_id = ids.ber1,
                      .dut_id = ids.dut1,
                      .lane = 0,
                      .side = lane_side::media,
                      .t = 11.5,
                      .gate_s = 10.0,
                      .bits = 1'062'500'000'000,
                      .errors = 3,
                      .pattern = "PRBS31Q",
                      .fec_histogram_json = "[1000, 12, 1, 0]"});
  ids.m_pass = rec.add_measurement({.run_id = ids.run,
                                    .step_id = ids.ber1,
                                    .dut_id = ids.dut1,
                                    .name = "pre_fec_ber",
                                    .lane = 0,
                                    .side = lane_side::media,
                                    .t = 11.5,
                                    .value = 2.8e-12,
                                    .unit = "",
                                    .comparator = "le",
                                    .limit_high = 2.4e-4,
                                    .limit_source = "limits/800g.yaml:12",
                                    .verdict = measurement_verdict::pass});
  rec.end_step(ids.ber1, step_verdict::pass, 11.5);
  ids.m_marginal = rec.add_measurement({.run_id = ids.run,
                                        .step_id = ids.ber2,
                                        .dut_id = ids.dut2,
                                        .name = "pre_fec_ber",
                                        .lane = 0,
                                        .side = lane_side::media,
                                        .t = 11.5,
                                        .value = 2.0e-4,
                                        .unit = "",
                                        .comparator = "le",
                                        .limit_high = 2.4e-4,
                                        .marginal_high = 1.0e-4,
                                        .limit_source = "limits/800g.yaml:12",
                                        .verdict = measurement_verdict::marginal});
  rec.end_step(ids.ber2, step_verdict::marginal, 11.5);

  ids.power2 = rec.begin_step({.run_id = ids.run,
                               .dut_id = ids.dut2,
                               .ordinal = 2,
                               .path = "main/2/power",
                               .name = "power",
                               .type = "power",
                               .started_t = 11.5});
  ids.m_fail = rec.add_measurement({.run_id = ids.run,
                                    .step_id = ids.power2,
                                    .dut_id = ids.dut2,
                                    .name = "module_power",
                                    .t = 12.0,
                                    .value = 18.2,
                                    .unit = "W",
                                    .comparator = "range",
                                    .limit_low = 0.0,
                                    .limit_high = 16.0,
                                    .limit_source = "CMIS",
                                    .verdict = measurement_verdict::fail});
  ids.alarm = rec.add_event({.run_id = ids.run,
                             .dut_id = ids.dut2,
                             .device = "slot2",
                             .t = 12.0,
                             .severity = severity::alarm,
                             .kind = "power_high",
                             .code = 1201,
                             .message = "module power 18.2 W above 16 W"});
  rec.add_event({.run_id = ids.run,
                 .t = 0.0,
                 .severity = severity::info,
                 .kind = "run_start",
                 .message = "run started"});
  rec.end_step(ids.power2, step_verdict::fail, 12.5, 1201, "module power above limit");
  rec.set_dut_status(ids.dut1, dut_status::ok);
  rec.set_dut_status(ids.dut2, dut_status::failed);
  rec.end_run(
      ids.run,
      {.status = run_status::failed, .closed_cleanly = true, .exit_code = 1, .duration_s = 12.5});
  return ids;
}

}  // namespace hilt::db::testing
