/* test_tree.c - the fixed summation tree: every rank-count P that splits the leaves into
 * blocks gives, through covers and tree_combine, bitwise the sum tree_sum computes on
 * one process. */
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/comm/tree.h"
#include "test.h"

#define LEN 64
#define MAXN 40

/* Leaf values of very different magnitudes, so that a sum in another order (another
 * association) gives other bits. */
static void leaf(void *ctx, int64_t i, float *out) {
  (void)ctx;
  for (int j = 0; j < LEN; j++) {
    uint64_t bits = rng_at(rng_key(7, 99, (uint64_t)i, 0), (uint64_t)j);
    out[j] = (float)((rng_unit(bits) - 0.5) * (double)(1u << (bits % 24)));
  }
}

TEST(tree_cover_and_combine_match_one_process_on_every_p) {
  static float sums[MAXN][LEN];
  float *slots[MAXN], whole[LEN];
  tree_node_t nodes[MAXN];
  tree_t t;
  tree_init(&t, LEN, MAXN);
  int orders_differ = 0;
  for (int64_t n = 1; n <= MAXN; n++) {
    tree_sum(&t, 0, n, leaf, NULL, whole);
    float seq[LEN] = {0}, one[LEN];
    for (int64_t i = 0; i < n; i++) {
      leaf(NULL, i, one);
      for (int j = 0; j < LEN; j++) seq[j] += one[j];
    }
    orders_differ |= memcmp(seq, whole, sizeof whole) != 0;
    for (int P = 1; P <= n && P <= 8; P++) {
      int count = 0;
      for (int r = 0; r < P; r++) {
        int c = tree_cover(n, n * r / P, n * (r + 1) / P, nodes + count);
        CHECK(c <= tree_cover_max(n));
        count += c;
      }
      for (int i = 0; i < count; i++) {
        CHECK(i == 0 ? nodes[i].lo == 0 : nodes[i].lo == nodes[i - 1].hi);
        tree_sum(&t, nodes[i].lo, nodes[i].hi, leaf, NULL, sums[i]);
        slots[i] = sums[i];
      }
      CHECK(nodes[count - 1].hi == n);
      tree_combine(n, nodes, count, slots, LEN);
      if (memcmp(slots[0], whole, sizeof whole) != 0)
        test_failed(__FILE__, __LINE__, "n = %lld leaves on P = %d: not the tree's bits",
                    (long long)n, P);
    }
  }
  CHECK(orders_differ); /* the leaves do tell summation orders apart */
  tree_free(&t);
}

TEST(tree_cover_of_a_block_is_its_largest_nodes) {
  tree_node_t nodes[MAXN];
  /* 6 leaves: [0,3) [3,6); [0,2) [2,3) [3,5) [5,6); block [2,4) of P = 3 */
  CHECK(tree_cover(6, 2, 4, nodes) == 2);
  CHECK(nodes[0].lo == 2 && nodes[0].hi == 3 && nodes[1].lo == 3 && nodes[1].hi == 4);
  CHECK(tree_cover(6, 0, 6, nodes) == 1 && nodes[0].lo == 0 && nodes[0].hi == 6);
  CHECK(tree_cover(6, 3, 3, nodes) == 0);
}
