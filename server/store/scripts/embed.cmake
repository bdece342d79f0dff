# Writes OUTPUT, a C++ header with one constant per file of INPUTS (a
# comma-separated list of paths): sessiond::store::scripts::<name>, the
# file's bytes exactly, where <name> is the file's name without ".lua".
#   cmake -DOUTPUT=<header> -DINPUTS=<a.lua>,<b.lua> -P embed.cmake
# Each text goes into a raw string literal; a file holding that literal's
# closing sequence fails the build rather than embedding a cut text, as does
# one that file(READ) does not give back byte for byte (it drops carriage
# returns).

cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED OUTPUT OR NOT DEFINED INPUTS)
  message(FATAL_ERROR "embed.cmake: OUTPUT and INPUTS are required")
endif()
string(REPLACE "," ";" inputs "${INPUTS}")

set(delimiter "sessiond_lua")
set(text "#pragma once\n// Generated at build time by server/store/scripts/embed.cmake from\n")
string(APPEND text "// server/store/scripts/*.lua: edit those, not this file.\n\n")
string(APPEND text "#include <string_view>\n\nnamespace sessiond::store::scripts {\n")
foreach(input IN LISTS inputs)
  get_filename_component(name "${input}" NAME_WE)
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "${input}: the name must be a C++ identifier (lowercase, digits, _)")
  endif()
  file(READ "${input}" content)
  file(SIZE "${input}" size)
  string(LENGTH "${content}" length)
  if(NOT length EQUAL size)
    message(FATAL_ERROR "${input}: holds a carriage return (CRLF line ends?), which would not be embedded")
  endif()
  string(FIND "${content}" ")${delimiter}\"" found)
  if(NOT found EQUAL -1)
    message(FATAL_ERROR "${input}: holds )${delimiter}\", which would end its raw string literal")
  endif()
  string(APPEND text "\ninline constexpr std::string_view ${name} = R\"${delimiter}(${content})${delimiter}\";\n")
endforeach()
string(APPEND text "\n}  // namespace sessiond::store::scripts\n")

file(WRITE "${OUTPUT}" "${text}")
