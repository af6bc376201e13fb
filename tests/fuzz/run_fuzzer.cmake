# Runs a libFuzzer target from a freshly generated seed corpus for SECONDS (default 60); fails on any finding.
if(NOT SECONDS)
  set(SECONDS 60)
endif()
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR}/corpus ${WORKDIR}/seeds ${WORKDIR}/artifacts)
execute_process(COMMAND ${PYTHON} ${SEEDGEN} ${WORKDIR}/seeds RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "seed corpus generation failed")
endif()
# EXTRA_ARGS: more libFuzzer flags for this target (a ;-list), e.g. -max_len and -timeout.
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -print_final_stats=1 -artifact_prefix=${WORKDIR}/artifacts/
                        ${EXTRA_ARGS} ${WORKDIR}/corpus ${WORKDIR}/seeds
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzzer found a problem (exit ${rc}); see ${WORKDIR}/artifacts")
endif()
message(STATUS "fuzzer ran ${SECONDS}s without findings")
