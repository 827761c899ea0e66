// The USB tests' main: the device models need libumockdev-preload.so in LD_PRELOAD. CTest runs this
// binary through umockdev-wrapper (its CROSSCOMPILING_EMULATOR, tests/usb/CMakeLists.txt); run by
// hand it re-executes itself with the library preloaded (AddressSanitizer's runtime first when the
// build uses it). Where umockdev is not installed the model tests skip and say why.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "usb_model.hpp"

int main(int argc, char** argv) {
  if (!hilt::usbtest::umockdev_available(nullptr) && !std::getenv("HILT_USB_REEXEC")) {
    // Preloading only works if the library exists: probe without keeping it.
    if (void* h = dlopen("libumockdev-preload.so.0", RTLD_LAZY | RTLD_LOCAL)) {
      dlclose(h);
      std::string pre;
#ifdef HILT_ASAN_RUNTIME
      pre = std::string(HILT_ASAN_RUNTIME) + ":";
#endif
      pre += "libumockdev-preload.so.0";
      if (const char* old = std::getenv("LD_PRELOAD"); old && *old) pre += std::string(":") + old;
      setenv("LD_PRELOAD", pre.c_str(), 1);
      setenv("HILT_USB_REEXEC", "1", 1);
      execv("/proc/self/exe", argv);
    }
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
