// SCPI message helpers shared by the supply driver and its emulator: total functions over
// whatever bytes a device sends (DESIGN.md rule 6: nothing crashes on bad bytes).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace hilt::scpi {

// A decimal numeric response (IEEE 488.2 §8.7.2 NR1/NR2/NR3, i.e. <NRf>): optional sign,
// digits with an optional point, optional exponent; surrounding blanks allowed. nullopt for
// anything else: empty, text, "inf"/"nan", trailing garbage, and SCPI-99 Vol 1 §7.2.1.5's
// 9.91E37 "not a number" marker.
std::optional<double> parse_number(std::string_view reply) noexcept;

// A boolean response: "0"/"1" (IEEE 488.2 NR1) or "ON"/"OFF" (any case).
std::optional<bool> parse_bool(std::string_view reply) noexcept;

// One entry of the error/event queue, SYSTem:ERRor[:NEXT]? (SCPI-99 Vol 2 §19.7, §21.8):
//   <number>,"<description>[;<device-dependent info>]"      e.g. -222,"Data out of range"
// Code 0 means the queue is empty ("No error"). A doubled quote inside the string is one quote
// (IEEE 488.2 §8.7.8 <STRING RESPONSE DATA>).
struct error_entry {
  int code = 0;
  std::string text;
};
std::optional<error_entry> parse_error(std::string_view reply);

// *IDN? response (IEEE 488.2 §10.14): manufacturer, model, serial, firmware. nullopt unless
// there are exactly four comma-separated fields and the first two are not empty.
std::optional<std::array<std::string, 4>> parse_idn(std::string_view reply);

// A setting in NRf form for a program message: the shortest text that reads back as `v`.
std::string format_value(double v);

// Replaces "{channel}" and "{value}" in a model's command template.
std::string expand(std::string_view tmpl, int channel, double value = 0);

}  // namespace hilt::scpi
