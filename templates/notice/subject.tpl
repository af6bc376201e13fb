Important: a security incident at {{VENDOR}} involved some of your data
