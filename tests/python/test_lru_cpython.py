"""Run CPython's lru_cache test-suite (ported in cpython_test_lru.py) under pytest."""
import importlib.util
import os
import sys

try:
    import cpython_test_lru
except ImportError:   # pytest's importlib import mode: the directory is not on sys.path
    _spec = importlib.util.spec_from_file_location(
        "cpython_test_lru", os.path.join(os.path.dirname(os.path.abspath(__file__)), "cpython_test_lru.py"))
    cpython_test_lru = importlib.util.module_from_spec(_spec)
    sys.modules["cpython_test_lru"] = cpython_test_lru   # pickling looks functions up by module
    _spec.loader.exec_module(cpython_test_lru)

TestCacheWeakcache = cpython_test_lru.TestCacheWeakcache
TestLRUWeakcache = cpython_test_lru.TestLRUWeakcache
