"""Online inspection of schools (网上巡查) and video quality diagnosis (issue #19)."""
