#!/usr/bin/env python3
"""Hand fixes after typed-sed.sh (the jansson calls with no 1:1 imapi_ twin)."""
import re, sys
for p in sys.argv[1:]:
    s = open(p).read()
    o = s
    s = re.sub(r'json_pack\("\[o\]",\s*', 'imapi_array1_new(', s)
    s = re.sub(r'json_pack\("\[O\]",\s*([^;]*)\)\);', r'imapi_array1_new(imapi_incref(\1)));', s)
    s = s.replace('json_integer_set(c, imapi_integer_value(c) + 1);',
                  'imapi_object_set_new(o, key, imapi_integer(imapi_integer_value(c) + 1)); /* immortal small ints: replaced, not changed */')
    if p.endswith('imap.h'):  # the public header needs no builder
        s = s.replace('#include "imap_node.h"\n', '')
    if s != o:
        open(p, 'w').write(s)
