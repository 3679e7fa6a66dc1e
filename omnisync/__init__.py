"""Omnisync, the multichannel order and stock hub, as one import package.

The code lives in the top-level folders docs/DESIGN.md lays out (core/, connectors/,
sync/, hub/, sandbox/, migrations/, and config/ for the commented examples); the entries
of this folder are relative links to them, so every module has one installed name,
``omnisync.<folder>.<module>``, and no generic top-level name (``core``, ``sync``, ``hub``)
reaches site-packages. The wheel is built from these links (setuptools follows them), and
bench/ and tests/ stay out of it.
"""

__version__ = "0.1.0"
