# cmake -DREADELF=<readelf> -DFILE=<elf> -DSHAPE="<key=value> ..." -P check_shape.cmake
#
# Checks that `readelf -hlW FILE` shows the layout the corpus promises, so a
# different toolchain that silently changes a program's shape is noticed.
# Every key is optional; only the keys given are checked.
#
#   class=32|64         ELFCLASS32 or ELFCLASS64
#   type=EXEC|DYN       e_type
#   interp=yes|no       has PT_INTERP
#   loads=R,RE,R,RW     the PT_LOAD flags in order (also fixes their count)
#   align=0x1000        p_align of every PT_LOAD
#   vaddr=0x400000      p_vaddr of the first PT_LOAD
#   stack=RW|RWE|none   flags of PT_GNU_STACK, or none if there is none
#   relro=yes|no        has PT_GNU_RELRO
#   tls=yes|no          has PT_TLS
#   filesz0=yes|no      some PT_LOAD has p_filesz == 0
#   minfilesz=0x300000  some PT_LOAD has p_filesz >= this
#   minbss=0x4000000    some PT_LOAD has p_memsz - p_filesz >= this
cmake_minimum_required(VERSION 3.20)
foreach(v READELF FILE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_shape.cmake: -D${v}= is required")
  endif()
endforeach()

execute_process(COMMAND "${READELF}" -hlW "${FILE}"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR err)
  message(FATAL_ERROR "readelf -hlW ${FILE} failed (${rc}): ${err}")
endif()

# e_type
if(out MATCHES "\n *Type: +([A-Z]+)")
  set(got_type "${CMAKE_MATCH_1}")
else()
  message(FATAL_ERROR "no ELF type in readelf output:\n${out}")
endif()

if(out MATCHES "\n *Class: +ELF(32|64)")
  set(got_class "${CMAKE_MATCH_1}")
else()
  message(FATAL_ERROR "no ELF class in readelf output:\n${out}")
endif()

# Program headers:  Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
set(load_flags "")
set(load_aligns "")
set(got_vaddr "")
set(got_interp no)
set(got_relro no)
set(got_tls no)
set(got_stack none)
set(got_filesz0 no)
set(max_filesz 0)
set(max_bss 0)
string(REPLACE "\n" ";" lines "${out}")
foreach(line IN LISTS lines)
  if(line MATCHES "^ +([A-Z_]+) +0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) ([R ][W ][E ]) (0x[0-9a-f]+|0)$")
    set(ptype "${CMAKE_MATCH_1}")
    set(vaddr "${CMAKE_MATCH_3}")
    set(filesz "${CMAKE_MATCH_5}")
    set(memsz "${CMAKE_MATCH_6}")
    string(REPLACE " " "" flg "${CMAKE_MATCH_7}")
    set(align "${CMAKE_MATCH_8}")
    if(ptype STREQUAL "LOAD")
      list(APPEND load_flags "${flg}")
      # Normalise 0x0000000000001000 to 0x1000 (lld writes a bare 0 for GNU_STACK).
      math(EXPR align "${align}" OUTPUT_FORMAT HEXADECIMAL)
      list(APPEND load_aligns "${align}")
      if(got_vaddr STREQUAL "")
        math(EXPR got_vaddr "0x${vaddr}" OUTPUT_FORMAT HEXADECIMAL)
      endif()
      if(filesz MATCHES "^0+$")
        set(got_filesz0 yes)
      endif()
      math(EXPR bss "0x${memsz} - 0x${filesz}")
      math(EXPR fsz "0x${filesz}")
      if(fsz GREATER max_filesz)
        set(max_filesz ${fsz})
      endif()
      if(bss GREATER max_bss)
        set(max_bss ${bss})
      endif()
    elseif(ptype STREQUAL "INTERP")
      set(got_interp yes)
    elseif(ptype STREQUAL "GNU_RELRO")
      set(got_relro yes)
    elseif(ptype STREQUAL "TLS")
      set(got_tls yes)
    elseif(ptype STREQUAL "GNU_STACK")
      set(got_stack "${flg}")
    endif()
  endif()
endforeach()
list(JOIN load_flags "," got_loads)
list(REMOVE_DUPLICATES load_aligns)
list(JOIN load_aligns "," got_align)

set(errors "")
separate_arguments(checks UNIX_COMMAND "${SHAPE}")
foreach(check IN LISTS checks)
  if(NOT check MATCHES "^([a-z0-9]+)=(.*)$")
    message(FATAL_ERROR "bad SHAPE item '${check}'")
  endif()
  set(key "${CMAKE_MATCH_1}")
  set(want "${CMAKE_MATCH_2}")
  if(key STREQUAL "align" OR key STREQUAL "vaddr")
    math(EXPR want "${want}" OUTPUT_FORMAT HEXADECIMAL)
  endif()
  if(key STREQUAL "minfilesz" OR key STREQUAL "minbss")
    if(key STREQUAL "minfilesz")
      set(have ${max_filesz})
    else()
      set(have ${max_bss})
    endif()
    math(EXPR want_n "${want}")
    if(have LESS want_n)
      math(EXPR have "${have}" OUTPUT_FORMAT HEXADECIMAL)
      string(APPEND errors "  ${key}: expected at least ${want}, largest is ${have}\n")
    endif()
    continue()
  endif()
  if(NOT DEFINED got_${key})
    message(FATAL_ERROR "unknown SHAPE key '${key}'")
  endif()
  if(NOT got_${key} STREQUAL want)
    string(APPEND errors "  ${key}: expected ${want}, readelf shows ${got_${key}}\n")
  endif()
endforeach()

if(errors)
  message(FATAL_ERROR "${FILE} does not have the expected shape:\n${errors}\n${out}")
endif()
message(STATUS "${FILE}: type=${got_type} interp=${got_interp} loads=${got_loads} "
  "align=${got_align} vaddr=${got_vaddr} stack=${got_stack} relro=${got_relro} "
  "tls=${got_tls} filesz0=${got_filesz0}")
