#!/bin/bash
# Mechanical jansson -> imap_node conversion of the dissector (issue 10).
# Usage: typed-sed.sh FILE...   (in place)
sed -i -E \
  -e 's/\bjson_t\b/imap_node/g' \
  -e 's/\bjson_int_t\b/int64_t/g' \
  -e 's/\bJSON_INTEGER_FORMAT\b/PRId64/g' \
  -e 's/\bjson_(object|array|string|stringn|string_nocheck|stringn_nocheck|integer|null|true|false|boolean|deep_copy|incref|decref|typeof|is_object|is_array|is_string|is_integer|is_boolean|is_true|is_false|is_null|object_set_new|object_set_new_nocheck|object_set|object_set_nocheck|object_get|object_del|object_size|object_update|object_foreach|array_append_new|array_append|array_set_new|array_clear|array_size|array_get|array_foreach|string_value|string_length|integer_value|boolean_value)\b/imapi_\1/g' \
  -e 's/#include <jansson.h>/#include "imap_node.h"/' \
  "$@"
