// C interface of the host emulator (glue.cc).
#pragma once
#ifdef __cplusplus
extern "C" {
#endif
int gk_kernel_count(void);
const char *gk_kernel_name(int i);
const char *gk_kernel_sig(int i);
// gk_launch runs kernel number kernel over grid blocks of block threads;
// args points to the parameters' values. It returns when all have run:
// 0, -1 when out of memory, -2 when a block's threads disagreed about a
// barrier.
int gk_launch(int kernel, int grid, int block, void **args);
#ifdef __cplusplus
}
#endif
