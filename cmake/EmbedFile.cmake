# Turns a text file into a C++ translation unit exposing it as a std::string_view.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUTPUT}
  "#include <string_view>\n"
  "namespace lsr::core::data {\n"
  "static const char ${SYMBOL}_bytes[] = {${bytes} 0};\n"
  "extern const std::string_view ${SYMBOL}(${SYMBOL}_bytes, sizeof(${SYMBOL}_bytes) - 1);\n"
  "}\n")
