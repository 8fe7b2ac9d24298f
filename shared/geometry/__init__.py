"""Geometry: the strict STL reader, cube rotations, and the setup analysis with its ray caster."""
