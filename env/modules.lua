-- Lmod example: the modules a dpt build and run need on a cluster that provides them.
-- Copy to your module path as dpt.lua (names and versions vary by site), then
--   module load dpt && DPT_NO_INSTALL=1 bash env/install-deps.sh --build && make
-- (install-deps.sh then only checks, naming anything still missing).
-- The HDF5 module must be the MPI-parallel build of the same MPI as mpicc.
whatis("dpt: data-parallel training studies on Slurm (build and run environment)")
load("gcc")
load("openmpi/4.1")
load("hdf5/1.10-mpi")
-- OpenBLAS: only for `make` (dpt-bench's sgemm reference, the unit tests); the dpt
-- binaries themselves do not link it.
load("openblas/0.3")
load("libyaml")
load("zlib")
-- Parallel file systems without POSIX locking (Lustre, NFS) need this for HDF5.
setenv("HDF5_USE_FILE_LOCKING", "FALSE")
