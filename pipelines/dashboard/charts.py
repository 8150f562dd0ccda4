"""The charts the pages draw (plotly), each a function of what a page-data function returned."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots


def rate_figure(daily: pl.DataFrame, warning: float, cutoff: float, rate: str = "hard_rate",
                count: str = "hard_bounced", rate_label: str = "Hard-bounce rate",
                height: int = 320, judged: pl.DataFrame | None = None,
                batches: pl.DataFrame | None = None) -> go.Figure:
    """Daily rate (line, left axis) over sends (bars, right axis), warning and cutoff lines labelled;
    with `judged` (day, hard_rate, deciding_window) the rolling-window rate the policy judges, and with
    `batches` (batch_id, day, sent, hard_rate) a marker per upload batch on the day it was first sent."""
    days = daily["day"].to_list()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(
        x=days, y=daily["sent"].to_list(), name="Sends", opacity=0.35,
        hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} sends<extra></extra>",
    ), secondary_y=True)
    fig.add_trace(go.Scatter(
        x=days, y=daily[rate].to_list(), name=rate_label, mode="lines+markers",
        customdata=list(zip(daily[count].to_list(), daily["sent"].to_list(), strict=True)),
        hovertemplate=(f"%{{x|%Y-%m-%d}}<br>{rate_label} %{{y:.2%}}"
                       "<br>%{customdata[0]:,} of %{customdata[1]:,} sends<extra></extra>"),
    ), secondary_y=False)
    rates = [r for r in daily[rate].to_list() if r is not None]
    if judged is not None and not judged.is_empty():
        window = judged["deciding_window"].drop_nulls()
        name = f"Rolling {window[-1]} rate (judged)" if len(window) else "Rolling rate (judged)"
        fig.add_trace(go.Scatter(
            x=judged["day"].to_list(), y=judged["hard_rate"].to_list(), name=name, mode="lines",
            line={"dash": "dot", "width": 3},
            hovertemplate=f"%{{x|%Y-%m-%d}}<br>{name} %{{y:.2%}}<extra></extra>",
        ), secondary_y=False)
        rates += [r for r in judged["hard_rate"].to_list() if r is not None]
    if batches is not None and not batches.is_empty():
        fig.add_trace(go.Scatter(
            x=batches["day"].to_list(), y=[0.0] * batches.height, name="Upload batch sent",
            mode="markers+text", text=batches["batch_id"].to_list(), textposition="top center",
            marker={"symbol": "triangle-up", "size": 12},
            customdata=list(zip(batches["sent"].to_list(), batches["hard_rate"].to_list(), strict=True)),
            hovertemplate=("%{x|%Y-%m-%d}<br>batch %{text}: %{customdata[0]:,} sends, "
                           "%{customdata[1]:.1%} hard<extra></extra>"),
        ), secondary_y=False)
    fig.add_hline(y=warning, line_dash="dash", line_color="orange",
                  annotation_text=f"warning {warning:.1%}", annotation_position="top left")
    fig.add_hline(y=cutoff, line_dash="dash", line_color="red",
                  annotation_text=f"cutoff {cutoff:.1%}", annotation_position="top left")
    top = max([cutoff * 1.25, *rates])
    fig.update_yaxes(title_text=rate_label, tickformat=".1%", range=[0, top * 1.05], secondary_y=False)
    fig.update_yaxes(title_text="Sends", showgrid=False, secondary_y=True)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.12})
    return fig


def address_events(events: pl.DataFrame) -> go.Figure:
    """One address's events over time, one row per event type."""
    fig = go.Figure()
    for (event_type,), rows in events.group_by("event_type", maintain_order=True):
        fig.add_trace(go.Scatter(
            x=rows["at"].to_list(), y=[event_type] * rows.height, mode="markers", name=event_type,
            customdata=list(zip(rows["portal_id"].to_list(), rows["reason"].to_list(), strict=True)),
            hovertemplate=("%{x|%Y-%m-%d %H:%M} UTC<br>%{y} in %{customdata[0]}"
                           "<br>%{customdata[1]}<extra></extra>"),
        ))
    fig.update_layout(showlegend=False, height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis_title="Time (UTC)", yaxis_title="Event")
    return fig


def quarantine_reasons(reasons: pl.DataFrame) -> go.Figure:
    """Quarantined records by reason."""
    fig = go.Figure(go.Bar(
        x=reasons["records"].to_list(), y=reasons["reason"].to_list(), orientation="h",
        hovertemplate="%{y}<br>%{x:,} records<extra></extra>",
    ))
    fig.update_layout(xaxis_title="Quarantined records", yaxis_title="Reason",
                      margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def brief_daily(daily: pl.DataFrame, warning: float | None, cutoff: float | None) -> go.Figure:
    """The restore brief's daily hard-bounce rate, with the portal's warning and cutoff lines."""
    fig = go.Figure(go.Scatter(
        x=daily["day"].to_list(), y=daily["hard_rate"].to_list(), mode="lines+markers",
        name="Hard-bounce rate",
        customdata=list(zip(daily["hard_bounced"].to_list(), daily["sent"].to_list(), strict=True)),
        hovertemplate=("%{x|%Y-%m-%d}<br>%{y:.2%}: %{customdata[0]:,} of %{customdata[1]:,} sends"
                       "<extra></extra>"),
    ))
    if cutoff is not None:
        fig.add_hline(y=cutoff, line_dash="dash", line_color="red",
                      annotation_text=f"cutoff {cutoff:.1%}")
    if warning is not None:
        fig.add_hline(y=warning, line_dash="dot", line_color="orange",
                      annotation_text=f"warning {warning:.1%}")
    fig.update_layout(xaxis_title="Day sent (UTC)", yaxis_title="Hard-bounce rate",
                      margin={"l": 10, "r": 10, "t": 30, "b": 10})
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    return fig


def top_hard_bounces(top: pl.DataFrame, dimension: str) -> go.Figure:
    """The values of one breakdown with the most hard bounces."""
    fig = go.Figure(go.Bar(
        x=top["value"].to_list(), y=top["hard_bounced"].to_list(),
        customdata=list(zip(top["sent"].to_list(), top["bounced"].to_list(), strict=True)),
        hovertemplate=("%{x}<br>%{y:,} hard bounces<br>%{customdata[1]:,} bounced of "
                       "%{customdata[0]:,} sends<extra></extra>"),
    ))
    fig.update_layout(xaxis_title=dimension, yaxis_title="Hard bounces",
                      margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig
