/*
 * reassembly.h - TCP stream reassembly, one direction of one connection.
 *
 * Shape after Zeek's TCP_Reassembler (64-bit relative sequence space, an
 * ordered list of held blocks, delivery as soon as the leading hole fills,
 * content gaps derived from the peer's ACKs), guards after Suricata's
 * stream engine (a per-stream cap, a global memcap, a depth limit, each of
 * which is reported with its reason when it stops or skips data).
 *
 * A tcp_stream is ONE direction.  The flow table owns two of them and
 * calls:
 *   tcp_stream_segment()  for every TCP segment sent in this direction,
 *   tcp_stream_peer_ack() with the ACK field of every segment sent in the
 *                         OTHER direction (RFC 9293 3.4: it acknowledges
 *                         every byte below it),
 *   tcp_stream_flush()    when the connection ends (FIN/RST seen both
 *                         ways, idle timeout, eviction, end of input),
 *   tcp_stream_free()     to release what the stream holds.
 *
 * Output goes through a caller-owned const table of callbacks and one
 * `void *user` (http-parser style).  Bytes come out strictly in stream
 * order; every byte of the stream is either delivered once or covered by
 * exactly one gap report, so after any call
 *     tcp_stream_offset() == bytes delivered + bytes reported as gaps.
 *
 * Policies (documented choices):
 *  - Overlaps: FIRST WINS.  Bytes already delivered or already held are
 *    kept; a later copy of the same range is compared with them.  Equal:
 *    counted (REASM_CTR_DUPLICATES / REASM_CTR_OVERLAP_SAME), silent.
 *    Different: anomaly overlap_mismatch at the offset of the first
 *    differing byte.  Already-delivered bytes are compared against a
 *    per-stream window of recently delivered bytes (cfg.recent_window);
 *    bytes older than the window cannot be compared: overlap_unverified.
 *    (Suricata's "first" policy; the BSD/Linux "favour the original" choice
 *    for data already accepted.)
 *  - Keep-alive (RFC 9293 3.8.4 / RFC 1122 4.2.3.6: zero or one byte at
 *    SND.NXT-1) is counted and ignored, no anomaly.  A zero-window probe
 *    carries the real next byte of the stream, so it is ordinary data: if
 *    it is delivered and later retransmitted it is an exact duplicate.
 *  - Relative offset 0 is the byte after the SYN (RFC 9293 3.4: the SYN
 *    occupies ISN), or, when the capture starts mid-connection, the first
 *    byte of the first segment seen that carries data or FIN.  Pure ACKs
 *    do not fix the origin (a 0-byte keep-alive sits at SND.NXT-1).
 *  - Sequence numbers are unwrapped to 64 bits as the candidate nearest to
 *    the delivery point (modulo 2^32 arithmetic, RFC 9293 3.4), so a stream
 *    may run past 2^32 bytes and across ISN wrap-around.
 *  - FIN: its offset is remembered; the stream is complete when delivery
 *    reaches it.  Bytes beyond a FIN are dropped: anomaly data_after_fin.
 *  - RST ends the stream at once: held data is delivered with its holes
 *    reported as gaps; later segments are ignored (data: data_after_close).
 *  - Caps: when holding a block would exceed cfg.max_held_per_stream,
 *    cfg.max_blocks_per_stream or the pool's memcap, the leading hole is
 *    declared a gap (its size reported through the gap callback), the held
 *    data behind it is delivered, and reasm_stream_cap / reasm_memcap is
 *    reported (once per segment).
 *  - Depth: after cfg.depth bytes of stream offset nothing more is
 *    delivered (reasm_depth, reported once); held data is released.
 *
 * Memory: no allocation and no copy of the delivered bytes on the in-order
 * path (the deliver callback gets a pointer into the caller's packet).
 * Out-of-order data is copied into malloc'ed blocks; the recent window is a
 * ring that grows by doubling up to cfg.recent_window (a handful of
 * allocations per stream, never one per packet) and costs one memcpy per
 * delivered byte.  Both count against the pool memcap.
 */
#ifndef IMAPSCOPE_REASSEMBLY_H
#define IMAPSCOPE_REASSEMBLY_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- defaults and caps (REASM_DEFAULT_*, REASM_MAX_*): src/limits.h ---- */

/* ---- anomalies: one table -> enum, stable JSON name, description ------ */
#define REASM_ANOMALY_TABLE(X)                                                 \
    X(OVERLAP_MISMATCH, "overlap_mismatch",                                    \
      "retransmitted bytes differ from bytes already delivered or held; "     \
      "the first copy was kept")                                               \
    X(OVERLAP_UNVERIFIED, "overlap_unverified",                                \
      "retransmission of bytes older than the recent window; not compared")    \
    X(DATA_AFTER_FIN, "data_after_fin",                                        \
      "data beyond the sequence number of this direction's FIN; dropped")      \
    X(DATA_AFTER_CLOSE, "data_after_close",                                    \
      "data after the stream was ended by RST or flush; dropped")              \
    X(SYN_SEQ_MISMATCH, "syn_seq_mismatch",                                    \
      "SYN with an ISN different from the stream's; ignored")                  \
    X(FIN_SEQ_MISMATCH, "fin_seq_mismatch",                                    \
      "FIN at a sequence number different from an earlier FIN; first kept")    \
    X(MEMCAP, "reasm_memcap",                                                  \
      "global reassembly memcap reached: leading hole declared a gap")         \
    X(STREAM_CAP, "reasm_stream_cap",                                          \
      "per-stream held bytes/blocks cap reached: leading hole declared a gap") \
    X(DEPTH, "reasm_depth",                                                    \
      "reassembly depth reached: no more bytes delivered on this stream")      \
    X(ALLOC_FAILED, "reasm_alloc_failed",                                      \
      "allocation failed: leading hole declared a gap")                        \
    X(SEGMENT_TOO_LONG, "segment_too_long",                                    \
      "segment payload longer than REASM_MAX_SEGMENT_LEN; dropped")

typedef enum reasm_anomaly {
#define REASM_X_ENUM(id, name, desc) REASM_ANOMALY_##id,
    REASM_ANOMALY_TABLE(REASM_X_ENUM)
#undef REASM_X_ENUM
    REASM_ANOMALY_COUNT
} reasm_anomaly;

/* Stable snake_case name / one-line description of an anomaly id; NULL for
 * an id out of range.  The strings are static. */
const char *reasm_anomaly_name(int id);
const char *reasm_anomaly_desc(int id);
/* Id for a name, or -1 when the name is unknown. */
int reasm_anomaly_from_name(const char *name);

/* ---- counters: one per event, kept in the pool ------------------------ */
#define REASM_COUNTER_TABLE(X)                                                 \
    X(SEGMENTS, "segments", "segments given to tcp_stream_segment")            \
    X(DATA_SEGMENTS, "data_segments", "segments with payload")                 \
    X(DIRECT_BYTES, "direct_bytes", "bytes delivered without a copy")          \
    X(HELD_BYTES_DELIVERED, "held_bytes_delivered",                            \
      "bytes delivered from held (copied) blocks")                             \
    X(BLOCKS_HELD, "blocks_held", "out-of-order blocks allocated")             \
    X(DUPLICATES, "duplicates", "segments wholly made of already-seen bytes")  \
    X(OVERLAP_SAME, "overlap_same", "partial overlaps with identical bytes")   \
    X(KEEPALIVES, "keepalives", "keep-alive segments ignored")                 \
    X(GAPS, "gaps", "gaps reported")                                           \
    X(GAP_BYTES, "gap_bytes", "bytes reported missing")                        \
    X(MIDSTREAM, "midstream", "streams whose origin was not a SYN")            \
    X(BEFORE_START, "before_start", "segments with bytes before offset 0")     \
    X(FIN_SEEN, "fin_seen", "streams that saw a FIN")                          \
    X(RST_SEEN, "rst_seen", "streams ended by RST")                            \
    X(ANOMALIES, "anomalies", "anomalies reported (all kinds)")

typedef enum reasm_counter {
#define REASM_X_ENUM(id, name, desc) REASM_CTR_##id,
    REASM_COUNTER_TABLE(REASM_X_ENUM)
#undef REASM_X_ENUM
    REASM_CTR_COUNT
} reasm_counter;

const char *reasm_counter_name(int id);

/* ---- configuration and the shared pool -------------------------------- */
typedef struct reasm_config {
    size_t max_held_per_stream;   /* bytes in out-of-order blocks, per stream */
    unsigned max_blocks_per_stream;
    size_t memcap_total;          /* held blocks + recent windows, all streams */
    uint64_t depth;               /* stop delivering at this offset; 0 = never */
    size_t recent_window;         /* bytes kept to verify retransmissions; 0 = off */
} reasm_config;

/* Fills *cfg with the REASM_DEFAULT_* values. */
void reasm_config_default(reasm_config *cfg);

/* Global accounting shared by all streams.  Not thread-safe: one pool per
 * thread.  cfg must outlive the pool and every stream using it. */
typedef struct reasm_pool {
    const reasm_config *cfg;
    size_t mem_used;                           /* bytes now allocated */
    size_t mem_peak;
    uint64_t counters[REASM_CTR_COUNT];
    uint64_t anomalies[REASM_ANOMALY_COUNT];   /* per anomaly id */
} reasm_pool;

void reasm_pool_init(reasm_pool *pool, const reasm_config *cfg);

/* ---- callbacks (caller-owned, const) ---------------------------------- */
typedef struct reasm_callbacks {
    /* In-order bytes [offset, offset+len) of the stream, where offset is
     * tcp_stream_offset() before the call.  data is valid only during the
     * call; it may point into the caller's packet (zero copy).  May be NULL. */
    void (*deliver)(void *user, int dir, const uint8_t *data, size_t len,
                    uint64_t ts_us);
    /* len bytes are missing at the current offset (tcp_stream_offset() before
     * the call); they will never be delivered.  May be NULL. */
    void (*gap)(void *user, int dir, uint64_t len, uint64_t ts_us);
    /* anomaly id (reasm_anomaly) at stream_offset.  May be NULL. */
    void (*anomaly)(void *user, int dir, int reasm_anomaly_id,
                    uint64_t stream_offset, uint64_t ts_us);
} reasm_callbacks;

/* ---- the stream -------------------------------------------------------- */
typedef struct reasm_block reasm_block;   /* private */

typedef enum tcp_stream_state {
    TCP_STREAM_OPEN = 0,     /* origin not known yet, or data flowing */
    TCP_STREAM_FIN_DONE,     /* every byte up to the FIN accounted for */
    TCP_STREAM_RST,          /* ended by RST */
    TCP_STREAM_FLUSHED       /* ended by tcp_stream_flush() */
} tcp_stream_state;

/* Fields are private to reassembly.c; the struct is public only so that the
 * flow table can embed two of them without an allocation. */
typedef struct tcp_stream {
    reasm_pool *pool;
    int dir;
    uint8_t state;            /* tcp_stream_state */
    uint8_t have_origin;      /* base_seq is set */
    uint8_t syn_seen;
    uint8_t fin_seen;
    uint8_t depth_reached;
    uint32_t base_seq;        /* sequence number of offset 0 */
    uint64_t next_off;        /* next offset to deliver */
    uint64_t fin_off;         /* offset of the FIN (valid if fin_seen) */
    uint64_t delivered;       /* bytes delivered */
    uint64_t gap_bytes;       /* bytes reported as gaps */
    reasm_block *head;        /* held blocks, sorted, disjoint, off > next_off */
    size_t held;              /* payload bytes in held blocks */
    unsigned nblocks;
    uint8_t *ring;            /* recent window: ring[o % ring_cap] = byte o */
    size_t ring_cap;
    size_t ring_len;          /* holds offsets [next_off - ring_len, next_off) */
} tcp_stream;

/* Initialises *s (no allocation).  pool must outlive s. dir is passed back
 * to the callbacks untouched (e.g. 0 = client->server, 1 = server->client). */
void tcp_stream_init(tcp_stream *s, reasm_pool *pool, int dir);

/* Result of tcp_stream_segment. */
#define REASM_SEG_OK 0          /* consumed */
#define REASM_SEG_NEW_CONN 1    /* a SYN with a new ISN on a stream that has
                                   ended or seen its FIN (TCP port reuse,
                                   RFC 9293 3.6.1 TIME-WAIT reuse): NOT
                                   consumed; the caller
                                   should end this connection, start a new one
                                   and feed the segment to it */

/* One segment sent in this direction: tcp_flags is the TCP flags octet
 * (FIN 0x01, SYN 0x02, RST 0x04, ...), payload/len the TCP payload (may be
 * NULL when len is 0), ts_us its capture time.  The payload is only read
 * during the call; in-order bytes are passed to cb->deliver without a copy.
 * Returns REASM_SEG_OK or REASM_SEG_NEW_CONN. */
int tcp_stream_segment(tcp_stream *s, uint32_t seq, uint8_t tcp_flags,
                       const uint8_t *payload, size_t len, uint64_t ts_us,
                       const reasm_callbacks *cb, void *user);

/* The other direction acknowledged every byte of this stream below `ack`
 * (its ACK flag was set).  Bytes below it that were never seen are lost to
 * the capture: held data up to it is delivered and each hole below it is
 * reported as a gap (Zeek's content-gap logic).  An ACK of the FIN is
 * clamped to the FIN.  Ignored before the stream's origin is known. */
void tcp_stream_peer_ack(tcp_stream *s, uint32_t ack, uint64_t ts_us,
                         const reasm_callbacks *cb, void *user);

/* End of the stream (connection over, idle timeout, eviction, end of
 * input): delivers everything held, reporting each hole as a gap; when a
 * FIN was seen, the bytes missing before it are a final gap.  Afterwards
 * the stream is TCP_STREAM_FLUSHED (unless it already ended) and ignores
 * data.  Frees the held blocks; the stream still needs tcp_stream_free(). */
void tcp_stream_flush(tcp_stream *s, uint64_t ts_us,
                      const reasm_callbacks *cb, void *user);

/* Releases every allocation of s (without delivering) and returns its
 * memory to the pool.  s may be re-initialised afterwards. */
void tcp_stream_free(tcp_stream *s);

/* Bytes delivered + bytes reported as gaps so far. */
uint64_t tcp_stream_offset(const tcp_stream *s);
/* tcp_stream_state of s. */
int tcp_stream_get_state(const tcp_stream *s);
/* Bytes currently held out of order. */
size_t tcp_stream_held(const tcp_stream *s);

#ifdef __cplusplus
}
#endif

#endif /* IMAPSCOPE_REASSEMBLY_H */
