"""Keeping widget values across reruns: Streamlit forgets the widgets of a tab that is not drawn."""

from __future__ import annotations

from typing import Any

import streamlit as st


def restore(key: str, default: Any) -> None:
    """Put back a widget's last kept value (else `default`) before the widget is drawn."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(f"kept.{key}", default)


def remember(key: str, value: Any) -> None:
    """Keep a widget's value so `restore` can put it back when its tab is drawn again."""
    st.session_state[f"kept.{key}"] = value
