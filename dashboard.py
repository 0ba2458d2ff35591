"""The Sparkify listening dashboard: ``streamlit run dashboard.py``.

Headline numbers and the notebook's charts for the plays the sidebar filters
select (date range, level, gender; an empty choice means all). It reads the
warehouse the way the scripts and the notebook do (sparkify.analytics.
open_warehouse: $DWH_CONFIG > ./dwh.cfg > <project>/dwh.cfg > built-in
defaults), read-only, and closes it after every run so etl.py can write. With
no warehouse yet the page says which commands build it.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from sparkify import analytics  # the project, installed (editable) by pip install -r requirements-analytics.txt

TITLE = "Sparkify: how people listen"
FREE, PAID = "#9aa5b1", "#1f77b4"


def date_filter(picked, first: date, last: date) -> tuple[date | None, date | None]:
    """The date input's value as (start, end); None where it is the data's own bound or unset.

    While a user picks a range the widget briefly holds one date: that is the start.
    """
    if isinstance(picked, date):
        picked = (picked,)
    picked = tuple(picked or ())
    start = picked[0] if len(picked) > 0 else None
    end = picked[1] if len(picked) > 1 else None
    return (None if start == first else start), (None if end == last else end)


def percent(fraction: float) -> str:
    return f"{fraction:.1%}"


# (column, label, format): the rows of the level and gender tables
LEVEL_MEASURES = (
    ("plays", "plays", "{:,}"),
    ("users", "users", "{:,}"),
    ("share", "share of plays", "{:.1%}"),
    ("plays_per_user", "plays per user", "{:.1f}"),
)
GENDER_MEASURES = (
    *LEVEL_MEASURES,
    ("sessions_per_user", "sessions per user", "{:.1f}"),
    ("plays_per_session", "plays per session", "{:.1f}"),
    ("paid_share", "paid share of plays", "{:.1%}"),
)


def by_measure(frame, key: str, measures) -> list[dict[str, str]]:
    """One row per measure, one column per group (free/paid, F/M): narrow enough for half the page."""
    groups = list(frame[key])
    return [
        {"": label, **{group: fmt.format(value) for group, value in zip(groups, frame[column], strict=True)}}
        for column, label, fmt in measures
    ]


def groups(title: str, frame, key: str, measures, color: str) -> None:
    """Groups side by side (free/paid, F/M): the measures as a table, then plays per user as bars."""
    st.subheader(title)
    st.dataframe(by_measure(frame, key, measures), hide_index=True)
    st.bar_chart(frame, x=key, y="plays_per_user", sort=False, color=color, x_label="", y_label="plays per user",
                 height=200)


def shares(frame, label: str, color: str) -> None:
    """Each label's share of the plays as horizontal bars, the largest first."""
    frame["% of plays"] = frame["share"] * 100
    st.bar_chart(frame, x=label, y="% of plays", horizontal=True, sort="-% of plays", color=color, x_label="",
                 height=220)


def main() -> None:
    st.set_page_config(page_title="Sparkify listening", page_icon=":musical_note:", layout="wide")
    st.title(TITLE)
    try:
        engine = analytics.open_warehouse()
    except analytics.WarehouseInUse:
        # not "no warehouse": building it again now would destroy it
        st.info("A load is running and holds the warehouse - reload this page in a moment.")
        return
    except analytics.WarehouseUnavailable as exc:
        st.error(f"No warehouse to show yet: {exc}")
        st.markdown("Build it from the project folder, then reload this page:")
        st.code(analytics.BUILD_COMMAND, language="bash")
        return
    try:
        page(engine)
    finally:
        engine.close()


def page(engine) -> None:
    options = analytics.filter_options(engine)
    with st.sidebar:
        st.header("Filters")
        st.caption("An empty choice means all.")
        picked = st.date_input(
            "Dates (UTC)",
            value=(options.first_day, options.last_day),
            min_value=options.first_day,
            max_value=options.last_day,
            key="dates",
        )
        levels = st.multiselect("Level at the play", options.levels, key="levels", placeholder="all levels")
        genders = st.multiselect("Gender", options.genders, key="genders", placeholder="all genders")
    start, end = date_filter(picked, options.first_day, options.last_day)
    filters = analytics.Filters(start=start, end=end, levels=levels, genders=genders)
    st.caption(f"{engine.config.describe()} - {filters.describe()}")

    head = analytics.headline(engine, filters)
    plays, users, songs, match = st.columns(4)
    plays.metric("Plays", f"{head.plays:,}")
    users.metric("Users", f"{head.users:,}")
    songs.metric("Songs", f"{head.songs:,}", help="different songs among the plays that matched one")
    match.metric("Match rate", percent(head.match_rate), help="plays that matched a song of the catalog")
    if head.plays == 0:
        st.warning("No plays match these filters - widen the dates or clear a filter.")
        return

    left, right = st.columns(2)
    with left:
        st.subheader("Activity by weekday")
        weekdays = analytics.by_weekday(engine, filters)
        weekdays["% of plays"] = weekdays["share"] * 100
        st.bar_chart(weekdays, x="day", y="% of plays", sort=False, color=PAID, x_label="", height=260)
        busy = weekdays.loc[weekdays["plays"].idxmax()]
        st.caption(
            f"Busiest: {busy['day']} with {percent(busy['share'])} of plays "
            f"({busy['plays_per_user']:.1f} plays per active user); an even week gives each day 14.3%."
        )
    with right:
        st.subheader("Plays by hour of day (UTC)")
        hours = analytics.by_hour(engine, filters)
        st.bar_chart(hours, x="hour", y="plays", sort=False, color=PAID, x_label="hour (UTC)", height=260)
        peak = hours.loc[hours["plays"].idxmax()]
        st.caption(f"Peak: {int(peak['hour'])}:00 UTC with {percent(peak['share'])} of plays.")

    left, right = st.columns(2)
    with left:
        groups("Paid vs free", analytics.by_level(engine, filters), "level", LEVEL_MEASURES, PAID)
    with right:
        groups("Gender", analytics.by_gender(engine, filters), "gender", GENDER_MEASURES, FREE)

    st.subheader("Most played songs and artists")
    st.caption(
        f"The rankings cover the {head.matched_plays:,} plays ({percent(head.match_rate)}) that matched a song "
        "of the catalog; the others name tracks not in the song files."
    )
    left, right = st.columns(2)
    with left:
        top_songs = analytics.top_songs(engine, filters, limit=10)
        top_songs["song"] = top_songs["title"] + " - " + top_songs["artist"].fillna("?")
        st.bar_chart(top_songs, x="song", y="plays", horizontal=True, sort="-plays", color=PAID, x_label="",
                     height=340)
    with right:
        top_artists = analytics.top_artists(engine, filters, limit=10)
        st.bar_chart(top_artists, x="artist", y="plays", horizontal=True, sort="-plays", color=FREE, x_label="",
                     height=340)

    st.subheader("Operating systems and browsers")
    left, right = st.columns(2)
    with left:
        shares(analytics.operating_systems(engine, filters), "os", PAID)
    with right:
        shares(analytics.browsers(engine, filters), "browser", FREE)

    st.subheader("Plays over time, and users converting from free to paid")
    daily = analytics.daily_plays(engine, filters)
    converted = analytics.conversions(engine, filters)
    per_day = daily[["day", "free_plays", "paid_plays"]].rename(columns={"free_plays": "free", "paid_plays": "paid"})
    st.bar_chart(per_day, x="day", y=["free", "paid"], color=[FREE, PAID], x_label="", y_label="plays", height=280)
    conversions_per_day = (
        converted.groupby("day").size().reindex(daily["day"], fill_value=0).rename("conversions").reset_index()
    )
    st.bar_chart(conversions_per_day, x="day", y="conversions", color="#2ca02c", x_label="", height=160)
    st.caption(
        f"{len(converted)} conversions from free to paid by {converted['user_id'].nunique()} users "
        f"(a user's first paid play right after a free one); {daily['plays'].mean():.0f} plays a day on average."
    )


if __name__ == "__main__":
    main()
