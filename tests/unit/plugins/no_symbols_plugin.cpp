// A shared object that is not a hilt plugin.
extern "C" __attribute__((visibility("default"))) int some_other_library_function() {
  return 1;
}
