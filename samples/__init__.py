"""Meshes and datasets made on the fly, for the tests and the benchmarks alike (numpy only):
`meshes` (boxes, wedges, spheres, STL bytes, the awkward-mesh corpus), `datasets` (labelled
meta-image folders drawn without rendering)."""
