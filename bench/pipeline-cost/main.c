/* bench/pipeline-cost: `main CASE N` runs N frames of CASE (driver.c) and prints how many passed. */
#include <stdio.h>
#include <stdlib.h>

int pipeline_cost_setup(void);
long pipeline_cost_loop(const char *what, long n);

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  pipeline_cost_setup();
  long passed = pipeline_cost_loop(argv[1], atol(argv[2]));
  printf("%ld\n", passed);
  return passed < 0;
}
