"""Streamlit widgets and glue shared by the pages (the only package here that imports streamlit)."""
