#include "reconciler/units.h"

#include <gtest/gtest.h>

namespace hostform {
namespace {

TEST(Units, ParsesBinarySizes) {
  EXPECT_EQ(*parseSize("512MiB"), 512 * MiB);
  EXPECT_EQ(*parseSize("20GiB"), 20 * GiB);
  EXPECT_EQ(*parseSize("1TiB"), TiB);
  EXPECT_EQ(*parseSize("4KiB"), 4 * KiB);
  EXPECT_EQ(*parseSize("1048576"), MiB);
  EXPECT_EQ(*parseSize("0"), 0u);
}

TEST(Units, RefusesDecimalUnitsWithAHint) {
  EXPECT_EQ(parseSize("20GB").error().message,
            "unit \"GB\" in \"20GB\" is not accepted: sizes use binary units (KiB, MiB, GiB, TiB); did you mean 20GiB?");
  EXPECT_EQ(parseSize("5M").error().message,
            "unit \"M\" in \"5M\" is not accepted: sizes use binary units (KiB, MiB, GiB, TiB); did you mean 5MiB?");
}

TEST(Units, RefusesBadSizes) {
  EXPECT_EQ(parseSize("-1GiB").error().message, "a size cannot be negative, found \"-1GiB\"");
  EXPECT_EQ(parseSize("12XiB").error().message,
            "unknown size unit \"XiB\" in \"12XiB\"; expected KiB, MiB, GiB, TiB or a plain number of bytes");
  EXPECT_EQ(parseSize("GiB").error().message, "expected a size such as 512MiB or 20GiB, found \"GiB\"");
  EXPECT_EQ(parseSize("").error().message, "expected a size such as 512MiB or 20GiB, found an empty string");
}

TEST(Units, RefusesSizesThatOverflow) {
  ASSERT_FALSE(parseSize("99999999999999999999").has_value());
  EXPECT_EQ(parseSize("99999999999999999999").error().message, "the size \"99999999999999999999\" is too large");
  // 2^64 bytes is 16777216TiB.
  ASSERT_FALSE(parseSize("16777216TiB").has_value());
  EXPECT_EQ(parseSize("16777216TiB").error().message,
            "the size \"16777216TiB\" is too large; sizes are at most 8EiB - 1 byte");
}

TEST(Units, RefusesSizesNoBackendTakes) {
  // 2^64 - 1 and 8 EiB used to be read, and rounding to extents wrapped them to 0.
  for (const char* text : {"18446744073709551615", "9223372036854775808", "8388608TiB"}) {
    ASSERT_FALSE(parseSize(text).has_value()) << text;
    EXPECT_EQ(parseSize(text).error().message,
              "the size \"" + std::string(text) + "\" is too large; sizes are at most 8EiB - 1 byte");
  }
  EXPECT_EQ(*parseSize("9223372036854775807"), kMaxSize);
  EXPECT_EQ(*parseSize("8388607TiB"), 8388607 * TiB);
}

TEST(Units, FormatsSizesInTheLargestExactUnit) {
  EXPECT_EQ(formatSize(20 * GiB), "20GiB");
  EXPECT_EQ(formatSize(1536 * MiB), "1536MiB");
  EXPECT_EQ(formatSize(4097), "4097");
  EXPECT_EQ(formatSize(0), "0");
  EXPECT_EQ(formatSize(2 * TiB), "2TiB");
}

TEST(Units, ParsesDurations) {
  EXPECT_EQ(parseDuration("500ms")->count(), 500);
  EXPECT_EQ(parseDuration("30s")->count(), 30'000);
  EXPECT_EQ(parseDuration("5m")->count(), 300'000);
  EXPECT_EQ(parseDuration("1h")->count(), 3'600'000);
  EXPECT_EQ(parseDuration("1m30s")->count(), 90'000);
  EXPECT_EQ(parseDuration("1h2m3s4ms")->count(), 3'723'004);
}

TEST(Units, RefusesBadDurations) {
  EXPECT_EQ(parseDuration("-5s").error().message, "a duration cannot be negative, found \"-5s\"");
  EXPECT_EQ(parseDuration("15").error().message, "missing unit in duration \"15\"; expected ms, s, m or h");
  EXPECT_EQ(parseDuration("3d").error().message, "unknown duration unit \"d\" in \"3d\"; expected ms, s, m or h");
  EXPECT_EQ(parseDuration("30s1m").error().message,
            "units in duration \"30s1m\" must appear once each, largest first (like 1h2m3s)");
  EXPECT_EQ(parseDuration("1s1s").error().message,
            "units in duration \"1s1s\" must appear once each, largest first (like 1h2m3s)");
  EXPECT_EQ(parseDuration("99999999999999999h").error().message, "the duration \"99999999999999999h\" is too large");
  EXPECT_EQ(parseDuration("99999999999999999999ms").error().message,
            "the duration \"99999999999999999999ms\" is too large");
}

TEST(Units, FormatsDurationsCanonically) {
  EXPECT_EQ(formatDuration(Millis(90'000)), "1m30s");
  EXPECT_EQ(formatDuration(Millis(500)), "500ms");
  EXPECT_EQ(formatDuration(Millis(0)), "0s");
  EXPECT_EQ(formatDuration(Millis(3'723'004)), "1h2m3s4ms");
  for (const char* text : {"15s", "1h", "2m5s", "1h1ms"}) EXPECT_EQ(formatDuration(*parseDuration(text)), text);
}

}  // namespace
}  // namespace hostform
