"""A short two-topic meeting for the chapter tests, spoken by two synthetic voices.

About forty seconds on a vegetable garden, then forty on a train journey — topics with
no words in common, so the summariser's topic segmentation has a real boundary to find
(``TOPIC_CHANGE``: the first line of the second topic). Spoken by Piper and eSpeak NG
like the long-meeting set (:mod:`evals.meeting_speech`) and encoded as a small M4A.
"""

from __future__ import annotations

from pathlib import Path

from evals.meeting_speech import encode_m4a, speak_turns
from evals.meetings import VOICES

TITLE = "Garden and train"
ANNA, BEN = VOICES["Project Manager"], VOICES["Marketing"]
GARDEN = [
    (ANNA, "Let us start with the vegetable garden behind the house."),
    (BEN, "The tomatoes need water every morning, and the soil must stay moist."),
    (ANNA, "We should add compost to the beds before we plant the carrots and the beans."),
    (BEN, "The lettuce seeds go in the shady corner, near the old apple tree."),
    (ANNA, "Slugs are eating the cabbage leaves, so we need a little fence of copper tape."),
    (BEN, "I will dig the potato rows on Saturday and spread the straw over them."),
    (ANNA, "The pumpkins want sun and plenty of room for their long vines."),
    (BEN, "Good, then the garden plan is done: tomatoes, carrots, beans, lettuce and pumpkins."),
]
TRAIN = [
    (ANNA, "Now the train journey to the conference in the capital next month."),
    (BEN, "The express leaves the central station at seven fifteen from platform four."),
    (ANNA, "Tickets are cheaper if we book them online three weeks before the trip."),
    (BEN, "We change trains once, and the connection waits twelve minutes at the junction."),
    (ANNA, "Bring one suitcase each; the luggage racks in the carriages are small."),
    (BEN, "The dining car serves breakfast until ten, so we can eat on board."),
    (ANNA, "The return train departs on Friday evening and arrives just before midnight."),
    (BEN, "Then the travel plan is done: the express, one change, and the Friday return."),
]
TOPIC_CHANGE = TRAIN[0][1]


def two_topic_meeting(root: Path) -> Path:
    """Speak the meeting into ``root`` and return its M4A."""
    wav = root / "garden-and-train.wav"
    speak_turns([*GARDEN, *TRAIN], wav, seed="garden-and-train")
    return encode_m4a(wav, root / "garden-and-train.m4a")
