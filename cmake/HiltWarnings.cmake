# hilt_target_defaults(TARGET): the warning set every hilt target compiles with.
function(hilt_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(HILT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
