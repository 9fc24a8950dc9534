// The Catch2 main for the unit and golden tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
