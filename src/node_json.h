/*
 * node_json.h - a jansson tree from the dissector's value tree.
 *
 * For the events that stay jansson trees in the program (alerts, the
 * session summary: a few per connection, off the per-transaction path)
 * and for tests that assert on decoded values with jansson.  The hot path
 * (transactions, lines) does not use it: render_json.c writes the trees.
 */
#ifndef IMAPSCOPE_NODE_JSON_H
#define IMAPSCOPE_NODE_JSON_H

#include <jansson.h>

#include "imap.h"

/* A new jansson tree with the same values, keys in the same order (NULL
 * node: json null).  Strings are taken byte for byte (not checked again:
 * the dissector's strings are UTF-8).  NULL when out of memory. */
json_t *node_to_json(const imap_node *n);

#endif /* IMAPSCOPE_NODE_JSON_H */
