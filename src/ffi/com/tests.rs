//! Tests of the COM objects through their C entry points.
