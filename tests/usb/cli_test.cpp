// The hilt binary on the device models (a child process in this process's umockdev testbed):
// `hilt usb list`, the acceptance check — `hilt eeprom dump` of an emulated module through the
// emulated CP2112 is byte-identical to the dump through the emulated I2C bus — and `hilt run` with
// the bridge unplugged mid-run: its DUT errors with an event (code disconnected), the other DUT
// passes, nothing crashes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cp2112_model.hpp"
#include "hilt/error.hpp"
#include "usb_support.hpp"
#include "usbtmc_model.hpp"

namespace {

using hilt::usbtest::cp2112_model;
using hilt::usbtest::has_text;
using hilt::usbtest::read_file;
using hilt::usbtest::repo_path;
using hilt::usbtest::run_command;
using hilt::usbtest::tmp_dir;
using hilt::usbtest::usb_bench;
using hilt::usbtest::usbtmc_model;

const std::string hilt_bin = HILT_BINARY;

std::string module_entry(const std::string& bus, const std::string& serial) {
  return "    - { bus: " + bus +
         ", profile: " + repo_path("fixtures/profiles/qsfpdd-400g-dr4.yaml") +
         ", serial: " + serial + " }\n";
}

class UsbCli : public hilt::usbtest::usb_test {
 protected:
  void TearDown() override {
    b.reset();
    usb_test::TearDown();
  }
  std::unique_ptr<usb_bench> b;
};

TEST_F(UsbCli, ListShowsBridgesAndInstrumentsWithSerialsAndAddresses) {
  auto r0 = run_command(hilt_bin + " usb list");
  EXPECT_EQ(r0.first, 0) << r0.second;
  EXPECT_TRUE(has_text(r0.second, "no CP2112 bridges or USBTMC instruments attached")) << r0.second;

  b = std::make_unique<usb_bench>("modules:\n" + module_entry("cage1", "EMU4D0000001") +
                                  "supplies:\n  - { name: psu1, model: keysight-e36xx }\n");
  auto bridge = std::make_shared<cp2112_model>("CP2112SER1", b->emu->bus("cage1"));
  auto psu =
      std::make_shared<usbtmc_model>(0x2A8D, 0x1102, "MY60000001", b->emu->supply("psu1")->psu);
  bed->plug(bridge);
  bed->plug(psu);

  auto r = run_command(hilt_bin + " usb list");
  ASSERT_EQ(r.first, 0) << r.second;
  EXPECT_TRUE(has_text(r.second, "KIND")) << r.second;
  EXPECT_TRUE(has_text(r.second, "cmis:cp2112:CP2112SER1@0x50")) << r.second;
  EXPECT_TRUE(has_text(r.second, "scpi-psu:usbtmc:2a8d:1102:MY60000001")) << r.second;
  EXPECT_TRUE(has_text(r.second, "CP2112 HID USB-to-SMBus Bridge")) << r.second;

  auto j = run_command(hilt_bin + " usb list --json 2>/dev/null");
  ASSERT_EQ(j.first, 0) << j.second;
  auto doc = nlohmann::json::parse(j.second);
  ASSERT_EQ(doc["devices"].size(), 2u) << j.second;
  const auto& c = doc["devices"][0];
  EXPECT_EQ(c["kind"], "cp2112");
  EXPECT_EQ(c["vid"], "10c4");
  EXPECT_EQ(c["pid"], "ea90");
  EXPECT_EQ(c["serial"], "CP2112SER1");
  EXPECT_EQ(c["port"], "1-1");
  EXPECT_EQ(c["address"], "cmis:cp2112:CP2112SER1@0x50");
  EXPECT_TRUE(c["problem"].is_null());
  const auto& u = doc["devices"][1];
  EXPECT_EQ(u["kind"], "usbtmc");
  EXPECT_EQ(u["serial"], "MY60000001");
  EXPECT_EQ(u["manufacturer"], "Keysight Technologies");
  EXPECT_EQ(u["product"], "E36312A");
  EXPECT_EQ(u["interface"], 0);
  // Listing opens nothing it does not need: no interface was claimed.
  EXPECT_EQ(bridge->claims(), 0u);
  EXPECT_EQ(psu->claims(), 0u);
}

// Acceptance: the dump through libusb + the CP2112 model is the dump through the emulated bus.
TEST_F(UsbCli, EepromDumpThroughTheBridgeIsByteIdenticalToTheEmulatedBus) {
  b = std::make_unique<usb_bench>("modules:\n" + module_entry("cage1", "EMU4D0000001"));
  auto bridge = std::make_shared<cp2112_model>("CP2112SER1", b->emu->bus("cage1"));
  bed->plug(bridge);
  tmp_dir d;
  const auto usb_fixture =
      d.write("usb.yaml",
              "fixture: usb-dump\nclock: virtual\nseed: 1\n"
              "devices:\n  - { name: m1, address: 'cmis:cp2112:CP2112SER1@0x50' }\n");
  const auto emu_fixture = d.write("emu.yaml",
                                   "fixture: emu-dump\nclock: virtual\nseed: 1\n"
                                   "emulation:\n  modules:\n" +
                                       module_entry("cage1", "EMU4D0000001") +
                                       "devices:\n  - { name: m1, address: "
                                       "'cmis:emu-i2c:cage1@0x50' }\n");
  const auto usb_bin = (d.dir / "usb.bin").string();
  const auto emu_bin = (d.dir / "emu.bin").string();
  auto r1 = run_command(hilt_bin + " eeprom dump --fixture " + usb_fixture + " --device m1 --out " +
                        usb_bin);
  ASSERT_EQ(r1.first, 0) << r1.second;
  EXPECT_TRUE(has_text(r1.second, "m1 (cmis:cp2112:CP2112SER1@0x50): CMIS dump")) << r1.second;
  auto r2 = run_command(hilt_bin + " eeprom dump --fixture " + emu_fixture + " --device m1 --out " +
                        emu_bin);
  ASSERT_EQ(r2.first, 0) << r2.second;
  const auto a = read_file(usb_bin);
  const auto e = read_file(emu_bin);
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a.size(), e.size());
  EXPECT_TRUE(a == e) << "the dumps differ";
  EXPECT_GT(bridge->transfers(), 10u) << "the dump went through the bridge";
}

// Unplugged mid-run: the DUT behind the bridge errors (an event with code 22 disconnected), the
// DUT on the emulated bus passes, and the run ends normally (exit 3: a device error).
TEST_F(UsbCli, RunWithTheBridgeUnpluggedMidRunErrorsItsDutOnly) {
  b = std::make_unique<usb_bench>("modules:\n" + module_entry("cage1", "EMU4D0000001"));
  auto bridge = std::make_shared<cp2112_model>("CP2112SER1", b->emu->bus("cage1"));
  bed->plug(bridge);
  tmp_dir d;
  const auto fixture =
      d.write("bench.yaml",
              "fixture: usb-run\nclock: virtual\nseed: 1\n"
              "emulation:\n  modules:\n" +
                  module_entry("cage2", "EMU4D0000002") +
                  "devices:\n"
                  "  - { name: m1, address: 'cmis:cp2112:CP2112SER1@0x50' }\n"
                  "  - { name: m2, address: 'cmis:emu-i2c:cage2@0x50' }\n"
                  "duts:\n  - { slot: 1, module: m1 }\n  - { slot: 2, module: m2 }\n");
  const std::string seq = repo_path("sequences/library/smoke.yaml");
  // A clean run first: how many USB transfers a whole run takes.
  const auto db1 = (d.dir / "one.db").string();
  auto r1 = run_command(hilt_bin + " run " + seq + " --fixture " + fixture + " --db " + db1);
  ASSERT_EQ(r1.first, 0) << r1.second;
  const auto whole = bridge->urbs();
  ASSERT_GT(whole, 50u);

  // Again, with the bridge gone half-way through.
  bridge->unplug_after(static_cast<int>(whole / 2));
  const auto db2 = (d.dir / "two.db").string();
  auto r2 = run_command(hilt_bin + " run " + seq + " --fixture " + fixture + " --db " + db2);
  EXPECT_EQ(r2.first, hilt::exit_code::device_error) << r2.second;
  EXPECT_TRUE(bridge->gone());
  auto q = run_command("sqlite3 " + db2 + " \"select device, status from duts order by slot\"");
  EXPECT_EQ(q.second, "m1|error\nm2|ok\n");
  auto ev = run_command("sqlite3 " + db2 +
                        " \"select count(*) from events e join duts u on u.id = e.dut_id "
                        "where u.device = 'm1' and e.kind = 'step_error' and e.code = 22\"");
  EXPECT_EQ(ev.second, "1\n") << r2.second;
}

// A fault other than an unplug, through the runner: a bridge whose transfers never complete. The
// DUT behind it errors with step_error events carrying errc::timeout (2); the other passes.
TEST_F(UsbCli, RunWithABridgeThatNeverCompletesRecordsTimeoutEvents) {
  b = std::make_unique<usb_bench>("modules:\n" + module_entry("cage1", "EMU4D0000001"));
  auto bridge = std::make_shared<cp2112_model>("CP2112SER1", b->emu->bus("cage1"));
  bed->plug(bridge);
  bridge->never_complete(true);
  tmp_dir d;
  const auto fixture =
      d.write("bench.yaml",
              "fixture: usb-run\nclock: virtual\nseed: 1\n"
              "emulation:\n  modules:\n" +
                  module_entry("cage2", "EMU4D0000002") +
                  "devices:\n"
                  "  - { name: m1, address: 'cmis:cp2112:CP2112SER1,timeout=10ms@0x50' }\n"
                  "  - { name: m2, address: 'cmis:emu-i2c:cage2@0x50' }\n"
                  "duts:\n  - { slot: 1, module: m1 }\n  - { slot: 2, module: m2 }\n");
  const auto db = (d.dir / "run.db").string();
  auto r = run_command(hilt_bin + " run " + repo_path("sequences/library/smoke.yaml") +
                       " --fixture " + fixture + " --db " + db);
  EXPECT_EQ(r.first, hilt::exit_code::device_error) << r.second;
  auto q = run_command("sqlite3 " + db + " \"select device, status from duts order by slot\"");
  EXPECT_EQ(q.second, "m1|error\nm2|ok\n");
  auto ev = run_command("sqlite3 " + db +
                        " \"select count(*) > 0 from events e join duts u on u.id = e.dut_id "
                        "where u.device = 'm1' and e.kind = 'step_error' and e.code = 2\"");
  EXPECT_EQ(ev.second, "1\n") << r.second;
  EXPECT_GE(bridge->cancels(), 1u);
}

}  // namespace
