message(STATUS "docs placeholder")
