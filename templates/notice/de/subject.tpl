Wichtig: Ein Sicherheitsvorfall bei {{VENDOR}} betrifft einige Ihrer Daten
