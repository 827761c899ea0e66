# Included from bench/CMakeLists.txt: transfers per second through the USB device models
# (bench/usb_bench.cpp), built when the models are (tests on, umockdev found).
if(TARGET hilt_usb_models)
  add_executable(hilt_usb_bench ${PROJECT_SOURCE_DIR}/bench/usb_bench.cpp)
  target_link_libraries(hilt_usb_bench PRIVATE hilt_usb_models hilt_driver_cmis
                                               hilt_driver_scpi_psu benchmark::benchmark)
  target_compile_definitions(hilt_usb_bench PRIVATE HILT_REPO_DIR="${PROJECT_SOURCE_DIR}")
  hilt_target_defaults(hilt_usb_bench)
endif()
