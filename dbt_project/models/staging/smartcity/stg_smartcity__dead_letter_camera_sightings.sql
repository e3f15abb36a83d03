{{ stage_dead_letters(source('smartcity', 'dead_letter_camera_sightings')) }}
