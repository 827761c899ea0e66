# One bounded fuzz run, for CTest (tests/fuzz/CMakeLists.txt):
#   cmake -DFUZZER=exe -DCORPUS=dir -DWORK=dir -DSECONDS=n [-DARGS=...] -P run_fuzz.cmake
# The committed corpus is copied to WORK/corpus first, so libFuzzer adds what it finds there and
# never to the source tree; crash-*, leak-*, timeout-* and oom-* files land in WORK/. Fails when
# the fuzzer fails (a crash, a sanitizer report, a broken invariant, a leak, a timeout).
foreach(v FUZZER CORPUS WORK SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzz.cmake: -D${v}= is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
file(GLOB seeds ${CORPUS}/*)
file(COPY ${seeds} DESTINATION ${WORK}/corpus)

execute_process(
  COMMAND ${FUZZER} ${WORK}/corpus
    -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix=${WORK}/ ${ARGS}
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-*)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducer: ${found}\n"
                      "rerun one: ${FUZZER} <file>")
endif()
