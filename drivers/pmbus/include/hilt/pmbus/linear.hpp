// PMBus numeric formats (PMBus Power System Management Protocol Specification Part II,
// revision 1.3: §7 "Data formats" for LINEAR11, §8.3 "VOUT_MODE" for LINEAR16).
//
//  LINEAR11 — one 16-bit word: bits 15-11 N, a 5-bit two's complement exponent; bits 10-0 Y, an
//  11-bit two's complement mantissa; value = Y x 2^N. Used by READ_VIN, READ_IOUT, READ_POUT,
//  READ_TEMPERATURE_1 and most other readings.
//  LINEAR16 — output voltage (READ_VOUT, VOUT_COMMAND): a 16-bit unsigned mantissa V; the exponent
//  N is the 5-bit two's complement field in bits 4-0 of VOUT_MODE (whose bits 7-5 = 000 select the
//  linear mode); value = V x 2^N.
//
// Decoders are total (any word has a value); encoders say when a value does not fit.
#pragma once

#include <cstdint>
#include <optional>

namespace hilt::pmbus {

// PMBus command codes used here (Part II §11, Table 31).
namespace cmd {
inline constexpr std::uint8_t page = 0x00;
inline constexpr std::uint8_t operation = 0x01;
inline constexpr std::uint8_t clear_faults = 0x03;
inline constexpr std::uint8_t vout_mode = 0x20;
inline constexpr std::uint8_t vout_command = 0x21;
inline constexpr std::uint8_t iout_oc_fault_limit = 0x46;
inline constexpr std::uint8_t status_byte = 0x78;
inline constexpr std::uint8_t status_word = 0x79;
inline constexpr std::uint8_t status_vout = 0x7A;
inline constexpr std::uint8_t status_iout = 0x7B;
inline constexpr std::uint8_t status_temperature = 0x7D;
inline constexpr std::uint8_t status_cml = 0x7E;
inline constexpr std::uint8_t read_vin = 0x88;
inline constexpr std::uint8_t read_iin = 0x89;
inline constexpr std::uint8_t read_vout = 0x8B;
inline constexpr std::uint8_t read_iout = 0x8C;
inline constexpr std::uint8_t read_temperature_1 = 0x8D;
inline constexpr std::uint8_t read_pout = 0x96;
inline constexpr std::uint8_t read_pin = 0x97;
inline constexpr std::uint8_t pmbus_revision = 0x98;
inline constexpr std::uint8_t mfr_id = 0x99;
inline constexpr std::uint8_t mfr_model = 0x9A;
inline constexpr std::uint8_t mfr_revision = 0x9B;
inline constexpr std::uint8_t mfr_serial = 0x9E;
}  // namespace cmd

// STATUS_WORD bits (Part II §17.2; the low byte is STATUS_BYTE, §17.1).
namespace status {
inline constexpr std::uint16_t none_of_the_above = 1u << 0;
inline constexpr std::uint16_t cml = 1u << 1;
inline constexpr std::uint16_t temperature = 1u << 2;
inline constexpr std::uint16_t vin_uv_fault = 1u << 3;
inline constexpr std::uint16_t iout_oc_fault = 1u << 4;
inline constexpr std::uint16_t vout_ov_fault = 1u << 5;
inline constexpr std::uint16_t off = 1u << 6;
inline constexpr std::uint16_t busy = 1u << 7;
inline constexpr std::uint16_t unknown = 1u << 8;
inline constexpr std::uint16_t other = 1u << 9;
inline constexpr std::uint16_t fans = 1u << 10;
inline constexpr std::uint16_t power_good_n = 1u << 11;  // set: power is NOT good
inline constexpr std::uint16_t mfr = 1u << 12;
inline constexpr std::uint16_t input = 1u << 13;
inline constexpr std::uint16_t iout_pout = 1u << 14;
inline constexpr std::uint16_t vout = 1u << 15;
}  // namespace status

// LINEAR11 word -> value.
double linear11_decode(std::uint16_t word) noexcept;
// Value -> LINEAR11 word with the most mantissa bits (smallest exponent) that still fits;
// nullopt when |value| is too large (beyond 1023 x 2^15) or not finite. Values too small for the
// smallest exponent (2^-16) round to zero.
std::optional<std::uint16_t> linear11_encode(double value) noexcept;

// VOUT_MODE fields.
enum class vout_mode_kind { linear, vid, direct, ieee_half, reserved };
vout_mode_kind vout_mode_kind_of(std::uint8_t vout_mode) noexcept;
int vout_mode_exponent(std::uint8_t vout_mode) noexcept;  // bits 4-0, two's complement
std::uint8_t linear_vout_mode(int exponent) noexcept;     // bits 7-5 = 000, exponent -16..15

// LINEAR16 mantissa with exponent N -> value.
double linear16_decode(std::uint16_t mantissa, int exponent) noexcept;
// Value -> LINEAR16 mantissa (rounded); nullopt when negative, not finite or above 65535 x 2^N.
std::optional<std::uint16_t> linear16_encode(double value, int exponent) noexcept;

}  // namespace hilt::pmbus
