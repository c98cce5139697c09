# Fails when a lower layer includes a higher one (run by ctest as `layering`; also by hand:
# cmake -DSOURCE_DIR=. -P tests/check_layers.cmake). Each folder lists the folders whose headers
# it may include; "sync" alone means the files directly in sync/, not its subfolders.
#
#   tools -> fusefs, sync/daemon, sync/server -> sync -> sync/merge, sync/transport -> storage
cmake_minimum_required(VERSION 3.25)
get_filename_component(SOURCE_DIR "${SOURCE_DIR}" ABSOLUTE)
set(allowed_storage        storage)
set(allowed_fusefs         storage fusefs)
set(allowed_sync_merge     storage sync/merge)
set(allowed_sync_transport storage sync/transport)
set(allowed_sync           storage sync/merge sync/transport sync)
set(allowed_sync_daemon    storage sync/merge sync/transport sync sync/daemon)
set(allowed_sync_server    storage sync/merge sync/transport sync/server)

# The layer of a project header or source path ("sync/merge/integrate.h" -> sync/merge).
function(layer_of path out)
  if(path MATCHES "^sync/(merge|transport|daemon|server)/")
    set(${out} "sync/${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(path MATCHES "^(storage|fusefs|sync|tools|tests)/")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}"
  "${SOURCE_DIR}/storage/*.cc" "${SOURCE_DIR}/storage/*.h"
  "${SOURCE_DIR}/fusefs/*.cc" "${SOURCE_DIR}/fusefs/*.h"
  "${SOURCE_DIR}/sync/*.cc" "${SOURCE_DIR}/sync/*.h")
set(violations "")
foreach(source IN LISTS sources)
  layer_of("${source}" layer)
  string(REPLACE "/" "_" key "${layer}")
  set(allowed ${allowed_${key}})
  file(STRINGS "${SOURCE_DIR}/${source}" includes REGEX "^#include \"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
    layer_of("${header}" target)
    if(target STREQUAL "" OR target IN_LIST allowed)
      continue()
    endif()
    string(APPEND violations "  ${source} (${layer}) includes ${header} (${target})\n")
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "layering: a lower layer includes a higher one:\n${violations}")
endif()
list(LENGTH sources count)
message(STATUS "layering: ${count} files, every include points down")
