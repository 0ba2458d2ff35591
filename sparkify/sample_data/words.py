"""The invented vocabulary the generator draws from: names, title words,
artist home towns, US metro areas and browser userAgents. Invented
combinations; no real titles, names or ids."""

from __future__ import annotations

FEMALE = (
    "Abigail Addison Alexis Alyssa Amara Aubrey Avery Brianna Brooke Camila Chloe Claire "
    "Daisy Delaney Eleanor Elena Faith Gianna Hailey Harper Hazel Isla Ivy Jade Jocelyn "
    "Julia Kendra Layla Leah Lila Lucia Mackenzie Madelyn Maya Mila Naomi Nora Paige "
    "Piper Quinn Reagan Riley Rosa Ruby Sadie Savannah Sienna Stella Tessa Valeria "
    "Vivian Willow Zoe"
).split()
MALE = (
    "Aaron Adrian Alec Andre Axel Beckett Brady Caleb Cameron Carter Cody Colin Damian "
    "Declan Derek Dominic Easton Elias Emmett Felix Gavin Grant Hector Hudson Ian Jace "
    "Jasper Jonah Julian Kai Landon Levi Lincoln Marco Mason Miles Nolan Oscar Owen "
    "Parker Rhys Roman Rowan Silas Theo Tristan Tucker Victor Wesley Xavier Zane"
).split()
LAST = (
    "Abbott Alvarez Barker Becker Bishop Blackwell Bowen Brennan Calloway Carver Chan "
    "Compton Crane Dalton Delgado Donovan Duran Ellison Espinoza Farrell Fleming Foley "
    "Galloway Garner Gillespie Goodwin Hale Hammond Harlow Hendrix Holloway Ibarra Jarvis "
    "Keller Kemp Kirby Lambert Lawson Lindqvist Lowry Maddox Marsh Mercer Monroe Navarro "
    "Nolan Oakley Ortega Pacheco Pemberton Quintero Ramsey Reyes Rhodes Salazar Sawyer "
    "Shepard Sloan Stanton Sutton Talbot Thorne Underwood Vance Velasquez Wade Whitaker "
    "Winslow Yates Zamora"
).split()
ADJECTIVES = (
    "Amber Ancient Arctic Atomic Autumn Black Blue Broken Burning Chrome Cosmic Crimson "
    "Crystal Dark Distant Electric Empty Endless Fading Falling Frozen Golden Hollow "
    "Honey Hungry Invisible Iron Last Lonely Lost Lucky Lunar Marble Midnight Mystic "
    "Neon Paper Pale Painted Quiet Radiant Restless Rusty Sacred Savage Scarlet Secret "
    "Silent Silver Sleepy Solar Static Stolen Strange Sunday Velvet Violet Wandering "
    "Wild Wooden"
).split()
NOUNS = (
    "Anchors Arrows Bandits Bells Birds Bones Cadets Candles Canyons Cathedrals Comets "
    "Coyotes Crows Diamonds Drifters Echoes Embers Engines Falcons Foxes Ghosts Giants "
    "Harbors Hearts Horses Islands Jackals Kings Lanterns Lions Machines Mirrors Monks "
    "Moons Mountains Oceans Orchids Owls Pilots Pines Prophets Rebels Rivers Robots "
    "Sailors Satellites Shadows Sirens Sparrows Spirits Strangers Thieves Tigers Towers "
    "Travelers Valleys Wolves"
).split()
BAND_WORDS = ("Band", "Trio", "Quartet", "Orchestra", "Collective", "Project", "Ensemble", "Experience")
TITLE_WORDS = (
    "Heart Night Fire Rain Road Dream Light Love Summer Winter River Sky Home Stars "
    "Shadow Storm Angel Highway Morning Midnight Ocean Paradise Thunder Mirror Wire "
    "Gold Ghost Garden Island Train Window Echo Letter Promise Secret Silence Smoke "
    "Sugar Horizon Diamond Rose Wolf Moon Sun Tide Glass Heaven Kingdom Lullaby Anthem "
    "Carnival Satellite Cowboy Valentine Harbor Lantern Memory Voices Wonder Canyon "
    "Velvet Thief Saint Sinner Runaway Stranger Ballad Radio Neon Desert Fever Honey"
).split()
TITLE_ADJ = (
    "Little Lonely Sweet Wild Broken Golden Endless Electric Blue Lost Crazy Silent "
    "Burning Dancing Falling Last Only Secret Hungry Holy Rainy Summer Velvet Young"
).split()
TITLE_NON_ASCII = (
    "Corazón", "Café", "Mañana", "Niño", "Über", "Déjà Vu", "Señorita", "Été", "Canción", "Fräulein",
)
TITLE_NEGATIONS = ("Don't", "Can't", "Won't", "Never", "Let's Not")
TITLE_VERBS = (
    "Stop", "Wait", "Look Back", "Let Go", "Forget", "Cry", "Run Away", "Sleep", "Say Goodbye", "Dance",
)
TITLE_SUBJECTS = ("I'm", "You're", "We're", "She's", "They're", "Ain't Nobody")
TITLE_STATES = ("Lost", "Alive", "Gone", "Falling", "Ready", "Dreamin'", "Lovin' It", "Home", "On Fire")
TITLE_SUFFIXES = ("(Album Version)", "(Live)", "(Remastered)", "(Radio Edit)", "(Acoustic)", "(Demo)", "[Remix]")

# Artist home towns: (location, latitude, longitude); None coordinates are
# places the dataset knows by name only.
ARTIST_PLACES: tuple[tuple[str, float | None, float | None], ...] = (
    ("Austin, TX", 30.26759, -97.74299),
    ("Seattle, WA", 47.60357, -122.32945),
    ("Detroit, MI", 42.33168, -83.04792),
    ("New Orleans, LA", 29.95465, -90.07507),
    ("Atlanta, GA", 33.74831, -84.39111),
    ("Brooklyn, NY", 40.6501, -73.94958),
    ("Los Angeles, CA", 34.05349, -118.24532),
    ("Minneapolis, MN", 44.9773, -93.26501),
    ("Athens, GA", 33.95962, -83.37666),
    ("Portland, OR", 45.51179, -122.67563),
    ("Chicago, IL", 41.88415, -87.63241),
    ("Boston, MA", 42.35866, -71.05674),
    ("Denver, CO", 39.74001, -104.99202),
    ("Omaha, NE", 41.26067, -95.93753),
    ("Miami, FL", 25.77481, -80.19773),
    ("Nashville, TN", 36.16784, -86.77816),
    ("Philadelphia, PA", 39.95222, -75.16218),
    ("London, England", 51.50632, -0.12714),
    ("Manchester, England", 53.47961, -2.24881),
    ("Glasgow, Scotland", 55.85953, -4.25175),
    ("Dublin, Ireland", 53.34376, -6.24953),
    ("Berlin, Germany", 52.51607, 13.37698),
    ("Stockholm, Sweden", 59.32893, 18.06491),
    ("Reykjavik, Iceland", 64.14602, -21.94123),
    ("Paris, France", 48.85693, 2.34121),
    ("Montreal, Quebec, Canada", 45.51228, -73.55439),
    ("Vancouver, BC, Canada", 49.26038, -123.11336),
    ("Melbourne, Australia", -37.81753, 144.96715),
    ("São Paulo, Brazil", -23.56287, -46.65466),
    ("Kingston, Jamaica", 17.99702, -76.79358),
    ("Havana, Cuba", 23.13302, -82.38304),
    ("Lagos, Nigeria", 6.45306, 3.39583),
    ("Tokyo, Japan", 35.68919, 139.69188),
    ("Mexico City, Mexico", 19.43195, -99.13315),
    ("Bogotá, Colombia", 4.59864, -74.07646),
    ("Ohio", None, None),
    ("Texas", None, None),
    ("California", None, None),
    ("New Jersey", None, None),
    ("England", None, None),
    ("Scandinavia", None, None),
    ("Bay Area, CA", None, None),
    ("Southern California", None, None),
    ("NY - Upstate", None, None),
    ("Pacific Northwest", None, None),
)

# US metro areas (Census CBSA names) for users, most populous first.
METROS = (
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Los Angeles-Long Beach-Anaheim, CA",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "Dallas-Fort Worth-Arlington, TX",
    "Houston-The Woodlands-Sugar Land, TX",
    "Washington-Arlington-Alexandria, DC-VA-MD-WV",
    "Miami-Fort Lauderdale-West Palm Beach, FL",
    "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD",
    "Atlanta-Sandy Springs-Roswell, GA",
    "Boston-Cambridge-Newton, MA-NH",
    "Phoenix-Mesa-Scottsdale, AZ",
    "San Francisco-Oakland-Hayward, CA",
    "Riverside-San Bernardino-Ontario, CA",
    "Detroit-Warren-Dearborn, MI",
    "Seattle-Tacoma-Bellevue, WA",
    "Minneapolis-St. Paul-Bloomington, MN-WI",
    "San Diego-Carlsbad, CA",
    "Tampa-St. Petersburg-Clearwater, FL",
    "Denver-Aurora-Lakewood, CO",
    "St. Louis, MO-IL",
    "Baltimore-Columbia-Towson, MD",
    "Charlotte-Concord-Gastonia, NC-SC",
    "Orlando-Kissimmee-Sanford, FL",
    "San Antonio-New Braunfels, TX",
    "Portland-Vancouver-Hillsboro, OR-WA",
    "Pittsburgh, PA",
    "Sacramento--Roseville--Arden-Arcade, CA",
    "Las Vegas-Henderson-Paradise, NV",
    "Cincinnati, OH-KY-IN",
    "Kansas City, MO-KS",
    "Columbus, OH",
    "Indianapolis-Carmel-Anderson, IN",
    "Cleveland-Elyria, OH",
    "San Jose-Sunnyvale-Santa Clara, CA",
    "Nashville-Davidson--Murfreesboro--Franklin, TN",
    "Austin-Round Rock, TX",
    "Raleigh, NC",
    "Salt Lake City, UT",
    "Louisville/Jefferson County, KY-IN",
    "Albany-Schenectady-Troy, NY",
    "Tucson, AZ",
    "Boise City, ID",
    "Madison, WI",
    "Ann Arbor, MI",
    "Spokane-Spokane Valley, WA",
    "Des Moines-West Des Moines, IA",
    "Omaha-Council Bluffs, NE-IA",
    "Burlington-South Burlington, VT",
    "Anchorage, AK",
    "Urban Honolulu, HI",
)

# Browser userAgents of 2018-era eventsim: (string, weight). Values with a
# comma carry literal double quotes, as in the real data.
USER_AGENTS = (
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/37.0.2062.120 Safari/537.36", 12),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/37.0.2062.120 Safari/537.36", 12),
    ("Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/38.0.2125.104 Safari/537.36", 8),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/38.0.2125.101 Safari/537.36", 6),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Ubuntu Chromium/37.0.2062.94 Chrome/37.0.2062.94 Safari/537.36", 4),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/600.2.5 (KHTML, like Gecko) "
     "Version/8.0.1 Safari/600.2.5", 8),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 8_1 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) "
     "Version/8.0 Mobile/12B411 Safari/600.1.4", 5),
    ("Mozilla/5.0 (iPad; CPU OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
     "Version/7.0 Mobile/11D257 Safari/9537.53", 3),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:32.0) Gecko/20100101 Firefox/32.0", 7),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:33.0) Gecko/20100101 Firefox/33.0", 4),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:32.0) Gecko/20100101 Firefox/32.0", 2),
    ("Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko", 3),
    ("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)", 1),
)
